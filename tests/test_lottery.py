import dataclasses
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import lth.core.engine as engine
import lth.shared.driver as driver
import lth.shared.population as population
from lth.core.masks import dense_masks, prune_by_rate
from lth.core.models import PopulationMLP
from lth.shared.lottery import one_shot_masks, random_masks_like, rewire, rounds_needed
from lth.shared.lenet import MnistConfig, MnistLottery, imp_rounds, layer_rates
from lottery_run import TINY, tiny_data

HERE = Path(__file__).resolve().parent


def test_layer_rates_output_at_half_rate_and_rounds_to_target():
    names = ["fc0.weight", "fc1.weight", "fc2.weight"]
    rates = layer_rates(MnistConfig(), names)
    assert rates == {"fc0.weight": 0.2, "fc1.weight": 0.2, "fc2.weight": 0.1}
    sizes = {"fc0.weight": 235200, "fc1.weight": 30000, "fc2.weight": 1000}
    r = rounds_needed(sizes, rates, 0.018)
    assert 0.8 ** r * 266200 < 0.0185 * 266200 and r == 19
    assert imp_rounds(MnistConfig()) == 19


def test_one_shot_masks_keep_what_imp_would_per_layer():
    model = PopulationMLP((30, 24, 12, 10))
    params = model.init_params([0, 1], "glorot_normal")
    rates = {"fc0.weight": 0.2, "fc1.weight": 0.2, "fc2.weight": 0.1}
    masks = dense_masks(params, model.layer_names)
    for _ in range(3):
        masks = prune_by_rate({n: params[n].abs() for n in masks}, masks, rates)
    shot = one_shot_masks(params, model.layer_names, rates, 3)
    for name in masks:      # same scores => identical masks; and same per-layer counts
        assert torch.equal(shot[name], masks[name])


def test_rewiring_and_random_mask_statistics():
    model = PopulationMLP((30, 24, 12, 10))
    init = model.init_params([0, 1], "glorot_normal")
    masks = prune_by_rate({n: init[n].abs() for n in model.layer_names}, dense_masks(init, model.layer_names),
                          {"fc0.weight": 0.6, "fc1.weight": 0.6, "fc2.weight": 0.3})
    params, rewired = rewire(init, masks, [5, 6])
    randoms = random_masks_like(masks, [7, 8])
    for name in masks:
        for k in range(2):
            assert rewired[name][k].sum() == masks[name][k].sum() == randoms[name][k].sum()
            # the surviving initial values are kept, only their positions move
            kept = init[name][k][masks[name][k]].sort().values
            assert torch.equal(params[name][k][rewired[name][k]].sort().values, kept)
            assert (params[name][k][~rewired[name][k]] == 0).all()
        assert not torch.equal(rewired[name], masks[name]) and not torch.equal(randoms[name], masks[name])


def test_rounds_rewind_tickets_and_controls_keep_masks(monkeypatch, tmp_path):
    """Round 1's tickets start from the original init under the pruned mask and Han from the trained weights
    (the ticket chain); the controls, trained after every round, share round 1's mask with fresh weights."""
    calls = []
    real = population.train_in_processes

    def spy(job, *args, **kwargs):
        calls.append(({n: p.clone() for n, p in job.params.items()}, {n: m.clone() for n, m in job.masks.items()}))
        result = real(job, *args, **kwargs)
        calls[-1] = calls[-1] + (result,)
        return result

    monkeypatch.setattr(population, "train_in_processes", spy)
    run = MnistLottery(TINY, tiny_data(), torch.device("cpu"), tmp_path / "ck.pt", progress=False)
    results = run.run()
    T, R = TINY.trials, TINY.reinit_per_ticket
    init0, _, trained0 = calls[0]
    params1, masks1, _ = calls[1]
    controls, control_masks, _ = calls[run.rounds + 1]        # the one-shot levels first, then the controls
    one_shot = len(TINY.one_shot_rounds) * T
    controls = {n: p[one_shot:] for n, p in controls.items()}
    control_masks = {n: m[one_shot:] for n, m in control_masks.items()}
    for name in run.names:
        assert torch.equal(params1[name][:T], init0[name])                      # rewind to W0
        assert params1[name].shape[0] == 2 * T                                 # the chain: tickets and Han
        assert torch.equal(params1[name][-T:], trained0.params[name])           # Han continues training
        assert torch.equal(control_masks[name][:T * R], masks1[name][:T].repeat_interleave(R, 0))
        assert not torch.equal(controls[name][:R], init0[name][:1].repeat(R, *[1] * (init0[name].dim() - 1)))
        # tickets' masks remove 20% (hidden) / 10% (output) of weights by |trained|
        rate = 0.1 if name == run.names[-1] else 0.2
        alive = masks1[name][:T].flatten(1).sum(1).double() / masks1[name][0].numel()
        assert torch.allclose(alive, torch.full((T,), 1 - rate, dtype=torch.double), atol=0.01)
    assert [r["round"] for r in results["rounds"]] == list(range(run.rounds + 1))
    assert set(results["rounds"][1]) >= {"ticket", "reinit", "rewire", "random_mask", "han"}
    assert len(results["rounds"][1]["reinit"]["pm"]) == T * R
    assert len(results["rounds"][2]["curves"]["test_accuracy"]) == T


def test_every_member_matches_its_rounds_one_population_training(tmp_path):
    """The ticket chain and the later controls population give each member exactly the result it gets when
    its round trains as one population (tickets, reinits, rewirings, random masks, Han; default seeds): the
    reference is round 1's population built by hand from the dense-trained weights and trained in one call."""
    results = MnistLottery(TINY, tiny_data(), torch.device("cpu"), tmp_path / "ck.pt", progress=False).run()
    reference = MnistLottery(TINY, tiny_data(), torch.device("cpu"), tmp_path / "ref.pt", progress=False)
    state = reference.driver.start(lambda: {"rounds": [], "one_shot": None})
    reference._round_step(0, state)
    dense = state["ticket_trained"]
    masks = prune_by_rate({n: dense[n].abs() for n in reference.names}, dense_masks(dense, reference.names),
                          reference.rates)
    controls, control_masks = reference._control_members(1, masks)
    params = {n: torch.cat([reference.init[n], controls[n], dense[n]]) for n in reference.init}
    all_masks = {n: torch.cat([masks[n], control_masks[n], masks[n]]) for n in reference.names}
    layout = reference._layout(1)
    assert layout.count("han") == layout.count("ticket") == TINY.trials and len(set(layout)) == 5
    _, summary = reference.trainer.train(params, all_masks, layout, 1, "imp", torch.arange(TINY.trials))
    for role in ("ticket", "reinit", "rewire", "random_mask", "han"):
        assert summary[role] == results["rounds"][1][role], role


def test_one_shot_levels_trained_with_the_controls_match_their_own_population(monkeypatch, tmp_path):
    """The one-shot levels train in the controls population (one population after the chain, not two) and
    each of their members gets exactly the result of the one-shot population trained alone with its default
    seeds: the reference is built by hand from the dense-trained weights and trained in one call."""
    trainings = _count_trainings(monkeypatch)
    results = MnistLottery(TINY, tiny_data(), torch.device("cpu"), tmp_path / "ck.pt", progress=False).run()
    T, levels = TINY.trials, TINY.one_shot_rounds
    assert len(trainings) == len(results["rounds"]) + 1
    assert trainings[-1] > len(levels) * T                                # with the controls
    reference = MnistLottery(TINY, tiny_data(), torch.device("cpu"), tmp_path / "ref.pt", progress=False)
    state = reference.driver.start(lambda: {"rounds": [], "one_shot": None})
    reference._round_step(0, state)
    dense = state["ticket_trained"]
    masks = {n: torch.cat([one_shot_masks(dense, reference.names, reference.rates, r)[n] for r in levels])
             for n in reference.names}
    params = {n: p.repeat(len(levels), *[1] * (p.dim() - 1)) for n, p in reference.init.items()}
    _, summary = reference.trainer.train(params, masks, ["ticket"] * (T * len(levels)), 0, "one-shot", None)
    assert [level["round"] for level in results["one_shot"]] == levels
    for i, level in enumerate(results["one_shot"]):
        assert level == {"round": levels[i], **{key: values[i * T:(i + 1) * T]
                                                for key, values in summary["ticket"].items()}}


def _run(checkpoint: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE / "lottery_run.py"), str(checkpoint), str(out)])


def test_kill_and_resume_gives_identical_results_and_runs_are_deterministic(tmp_path):
    whole, again, resumed = tmp_path / "whole.json", tmp_path / "again.json", tmp_path / "resumed.json"
    assert _run(tmp_path / "a.pt", whole).wait() == 0
    assert _run(tmp_path / "b.pt", again).wait() == 0
    assert whole.read_bytes() == again.read_bytes()                  # same params and seeds: same bytes

    checkpoint = tmp_path / "c.pt"
    process = _run(checkpoint, resumed)
    deadline = time.time() + 120
    rounds_done = 0
    while time.time() < deadline and process.poll() is None:
        if checkpoint.exists():
            try:
                rounds_done = len(torch.load(checkpoint, weights_only=True)["rounds"])
            except Exception:    # caught mid-rename: try again
                rounds_done = 0
            if rounds_done >= 2:
                break
        time.sleep(0.05)
    assert process.poll() is None, "the run finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not resumed.exists()
    assert _run(checkpoint, resumed).wait() == 0
    assert resumed.read_bytes() == whole.read_bytes()


def test_checkpoint_of_another_config_is_ignored(tmp_path, capsys):
    checkpoint = tmp_path / "ck.pt"
    MnistLottery(TINY, tiny_data(), torch.device("cpu"), checkpoint, progress=False).run()
    assert MnistLottery(TINY, tiny_data(), torch.device("cpu"), checkpoint, progress=False).driver.load() is not None
    other = MnistLottery(TINY.__class__(**{**TINY.__dict__, "lr": 0.002}), tiny_data(), torch.device("cpu"),
                         checkpoint, progress=False)
    capsys.readouterr()
    assert other.driver.load() is None
    assert "written by another config, dataset or code version; starting over" in capsys.readouterr().err


def test_mixed_precision_param_reaches_the_engine_and_results_stay_valid(monkeypatch, tmp_path):
    """mnist.mixed_precision trains under bfloat16 autocast; weights stay float32, pruned ones exactly 0."""
    seen = []
    real = population.train_in_processes

    def spy(job, *args, **kwargs):
        result = real(job, *args, **kwargs)
        seen.append((job.settings.mixed_precision, job.masks, result))
        return result

    monkeypatch.setattr(population, "train_in_processes", spy)
    config = TINY.__class__(**{**TINY.__dict__, "mixed_precision": True})
    results = MnistLottery(config, tiny_data(), torch.device("cpu"), tmp_path / "ck.pt", progress=False).run()
    assert seen and all(flag for flag, _, _ in seen)
    for _, masks, result in seen:
        for name, mask in masks.items():
            assert result.params[name].dtype == torch.float32
            assert (result.params[name][~mask] == 0).all()
    assert all(not any(r["ticket"]["diverged"]) for r in results["rounds"])


# ------------------------------------------------------------------------------------------- checkpoints
HASH = "5" * 64           # the hash of the file the tiny data "came from"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The results of one uninterrupted run on the tiny data (what every run below must give)."""
    checkpoint = tmp_path_factory.mktemp("whole") / "ck.pt"
    return json.dumps(MnistLottery(TINY, tiny_data(source_sha256=HASH), torch.device("cpu"), checkpoint,
                                   progress=False).run(), sort_keys=True)


def _count_trainings(monkeypatch) -> list[int]:
    trainings, real = [], population.train_in_processes

    def counting(job, *args, **kwargs):
        trainings.append(job.members)
        return real(job, *args, **kwargs)

    monkeypatch.setattr(population, "train_in_processes", counting)
    return trainings


@pytest.mark.parametrize("written_by", ["another dataset file", "another code version"])
def test_a_checkpoint_of_another_dataset_or_code_is_not_resumed(written_by, uninterrupted, tmp_path, monkeypatch,
                                                                capsys):
    """A finished run's checkpoint, written from a dataset file with another sha256 or by code with another
    hash, is set aside with a message: the run trains every population again and gives the right results.
    The checkpoint it leaves is its own, which a second run resumes (trains nothing, says nothing)."""
    checkpoint, cpu = tmp_path / "ck.pt", torch.device("cpu")
    with monkeypatch.context() as patch:
        if written_by == "another code version":
            patch.setattr(driver, "code_sha256", lambda: "0" * 64)
            data = tiny_data(source_sha256=HASH)
        else:
            data = tiny_data(source_sha256="6" * 64)      # same examples, another file
        MnistLottery(TINY, data, cpu, checkpoint, progress=False).run()
    assert torch.load(checkpoint, weights_only=True)["rounds"]
    trainings = _count_trainings(monkeypatch)
    capsys.readouterr()
    results = MnistLottery(TINY, tiny_data(source_sha256=HASH), cpu, checkpoint, progress=False).run()
    assert "written by another config, dataset or code version; starting over" in capsys.readouterr().err
    assert len(trainings) == imp_rounds(TINY, inputs=30) + 1 + 1     # every IMP round, the controls and one-shot
    assert json.dumps(results, sort_keys=True) == uninterrupted
    trainings.clear()
    again = MnistLottery(TINY, tiny_data(source_sha256=HASH), cpu, checkpoint, progress=False).run()
    assert trainings == [] and capsys.readouterr().err == ""
    assert json.dumps(again, sort_keys=True) == uninterrupted


def test_a_failing_checkpoint_write_is_reported_and_the_run_completes(uninterrupted, tmp_path, monkeypatch, capsys):
    """A full disk loses only resumability: every failed write is reported on stderr and the run completes
    with the results of a run whose writes succeed."""
    attempts = []

    def disk_full(path, payload):
        attempts.append(path)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(driver, "save_torch_atomic", disk_full)
    checkpoint = tmp_path / "ck.pt"
    capsys.readouterr()
    results = MnistLottery(TINY, tiny_data(source_sha256=HASH), torch.device("cpu"), checkpoint,
                           progress=False).run()
    assert json.dumps(results, sort_keys=True) == uninterrupted
    assert attempts and all(path == checkpoint for path in attempts) and not checkpoint.exists()
    messages = [line for line in capsys.readouterr().err.splitlines() if "could not save progress" in line]
    assert len(messages) == len(attempts) and all("No space left on device" in line for line in messages)


def test_extra_controls_train_only_every_nth_round(tmp_path):
    """``extra_controls_every: 2``: rewiring and random masks at rounds 1, 3, ...; reinit and Han every round."""
    config = dataclasses.replace(TINY, extra_controls_every=2, min_remaining=0.45, one_shot_rounds=[1])
    rounds = MnistLottery(config, tiny_data(), torch.device("cpu"), tmp_path / "ck.pt", progress=False).run()["rounds"]
    assert len(rounds) >= 4
    for r in rounds[1:]:
        extra = (r["round"] - 1) % 2 == 0
        assert ("rewire" in r) == extra and ("random_mask" in r) == extra, r["round"]
        assert {"ticket", "reinit", "han"} <= set(r)
        if extra:
            assert len(r["rewire"]["pm"]) == len(r["random_mask"]["pm"]) == config.trials
            assert r["rewire"]["pm"] == r["ticket"]["pm"]          # the ticket's per-layer counts, elsewhere


def test_population_wide_draws_keep_each_rounds_controls_in_its_population(monkeypatch, tmp_path):
    """With draws shared by a population (here one batch order for all members, as dropout and augmentation
    draw for the whole population), a member's result depends on who trains beside it: the controls then
    train in their round's population, as the tickets' one-population layout defines, and nothing after."""
    trainings = _count_trainings(monkeypatch)
    run = MnistLottery(TINY, tiny_data(), torch.device("cpu"), tmp_path / "ck.pt", progress=False)
    run.settings = dataclasses.replace(run.settings, shared_data_order=True)
    run.trainer.settings = run.settings
    results = run.run()
    T = TINY.trials
    assert trainings[1] == len(run._layout(1)) > 2 * T                     # round 1: tickets, controls and Han
    assert len(trainings) == run.rounds + 1 + 1                          # the rounds and the one-shot levels
    assert len(results["rounds"][1]["reinit"]["pm"]) == T * TINY.reinit_per_ticket


def test_members_trained_one_at_a_time_defer_their_controls_with_the_same_results(monkeypatch, tmp_path):
    """Where members train one at a time (chunk 1: the conv nets on a CPU) the chain's rounds hold only the
    tickets and Han's baseline, and every round's controls train after the chain in one population (with the
    one-shot levels), as in groups of several members; every member's result and every recorded curve are the
    reference's (the same lottery in groups of several members). The rate makes members stop anywhere from
    iteration 50 to the cap of 300."""
    config = dataclasses.replace(TINY, patience=50, iterations=300, lr=0.01, min_remaining=0.5, curve_rounds=[0, 3])
    reference = MnistLottery(config, tiny_data(), torch.device("cpu"), tmp_path / "ref.pt", progress=False).run()
    trainings = _count_trainings(monkeypatch)
    run = MnistLottery(config, tiny_data(), torch.device("cpu"), tmp_path / "ck.pt", progress=False)
    run.trainer.chunk = 1
    results = run.run()
    assert trainings[1] == 2 * config.trials                              # round 1: tickets and Han only
    assert len(trainings) == run.rounds + 1 + 1                          # the rounds, then controls + one-shot
    assert trainings[-1] > len(config.one_shot_rounds) * config.trials   # the controls joined the one-shot levels
    assert json.dumps(results, sort_keys=True) == json.dumps(reference, sort_keys=True)   # as results files are


def test_a_population_evaluated_only_at_its_end_is_tested_once_with_the_same_results(monkeypatch, tmp_path):
    """When every member's early-stop point is its last iteration (evaluated only at the end, as VGG-19 and
    ResNet-20 at ``quick``) the test set is evaluated once per population, not twice, and the results are
    those of evaluating the early-stop and the final weights separately. Populations train in this process
    (forked workers would count in their own copy of ``calls``), whatever number of threads the host gives torch;
    only the evaluations at stop are counted."""
    config = dataclasses.replace(TINY, iterations=50, eval_every=50, min_remaining=0.7, one_shot_rounds=[1])
    calls, real_evaluate = [], engine.evaluate

    def counting(model, params, split, *args, **kwargs):
        if sys._getframe(1).f_code is engine.stop_and_final_accuracies.__code__:
            calls.append(len(split))
        return real_evaluate(model, params, split, *args, **kwargs)

    monkeypatch.setattr(engine, "evaluate", counting)
    monkeypatch.setattr(population, "worker_count", lambda device, members: 1)
    shortcut = MnistLottery(config, tiny_data(), torch.device("cpu"), tmp_path / "a.pt", progress=False).run()
    tests_once = calls.count(200)
    monkeypatch.setattr(engine, "same_weights", lambda a, b: False)
    calls.clear()
    both = MnistLottery(config, tiny_data(), torch.device("cpu"), tmp_path / "b.pt", progress=False).run()
    assert json.dumps(shortcut, sort_keys=True) == json.dumps(both, sort_keys=True)
    assert calls.count(200) == 2 * tests_once > 0
