"""Members that stop once their validation loss has not improved for ``patience`` iterations.

The reference is the rule applied by hand to the full-length run's validation curve, and a plain run of
exactly as many iterations as a member trained (no retirement code involved)."""
import dataclasses
import math
import sys

import pytest
import torch
from results_compare import assert_same_result

from lth.core.engine import PopulationRun, Split, TrainJob, TrainSettings, train_in_chunks, train_population
from lth.core.masks import dense_masks, prune_by_rate
from lth.core.models import PopulationMLP
from lth.core.processes import train_in_processes

PATIENCE, EVERY, LAST = 40, 10, 300


def _overfitting_job(optimizer: str = "adam", members: int = 6, **settings) -> TrainJob:
    """Members on a tiny training set with noisy labels: their validation losses turn up at different times."""
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(88, 12, generator=generator)
    y = x[:, :3].argmax(1)
    noisy = y.clone()
    noisy[:24:3] = torch.randint(0, 3, (8,), generator=generator)
    model = PopulationMLP((12, 32, 3))
    params = model.init_params(list(range(members)), "glorot_normal")
    masks = prune_by_rate({n: torch.rand(params[n].shape, generator=generator) for n in model.layer_names},
                          dense_masks(params, model.layer_names), {"fc0.weight": 0.3, "fc1.weight": 0.2})
    options = dict(lr=1e-3) if optimizer == "adam" else dict(lr=0.02, momentum=0.9, weight_decay=1e-3)
    settings = TrainSettings(iterations=LAST, batch_size=8, optimizer=optimizer, eval_every=EVERY,
                             patience=PATIENCE, **{**options, **settings})
    return TrainJob(model, params, masks, settings, Split(x[:24], noisy[:24]), [40 + k for k in range(members)],
                    {"validation": Split(x[24:56], y[24:56]), "test": Split(x[56:], y[56:])},
                    eval_members={"test": torch.tensor([1, 4])}, track_best="validation")


def _full_length(job: TrainJob, iterations: int = LAST) -> TrainJob:
    return dataclasses.replace(job, settings=dataclasses.replace(job.settings, patience=0, iterations=iterations))


def _stops_by_hand(curve: list[float], iterations: list[int]) -> tuple[int, int]:
    """(stop, best iteration up to it): the first evaluation before the last at which the best loss so far
    is ``PATIENCE`` iterations old."""
    best, best_at = math.inf, 0
    for loss, at in zip(curve, iterations):
        if loss < best:
            best, best_at = loss, at
        if at < LAST and at - best_at >= PATIENCE:
            return at, best_at
    return LAST, best_at


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_members_stop_where_the_rule_says_with_the_weights_of_a_run_that_long(optimizer):
    job = _overfitting_job(optimizer)
    full = train_population(_full_length(job))
    stopped = train_population(job)
    expected = [_stops_by_hand(row, full.eval_iterations) for row in full.curves["validation"]["loss"].tolist()]
    # the test exercises retirement: members stop at different times, some before the last iteration
    assert len({stop for stop, _ in expected}) >= 3 and sum(stop < LAST for stop, _ in expected) >= 3
    assert stopped.stopped_iteration.tolist() == [stop for stop, _ in expected]
    assert stopped.best_iteration.tolist() == [best for _, best in expected]
    # the population trains (and evaluates) until its last member stops
    assert stopped.eval_iterations == [at for at in full.eval_iterations if at <= max(s for s, _ in expected)]
    for k, (stop, _) in enumerate(expected):
        seen = full.eval_iterations.index(stop) + 1
        for split, rows in (("validation", range(6)), ("test", [1, 4])):
            if k not in rows:
                continue
            row = list(rows).index(k)
            ours, theirs = stopped.curves[split]["loss"][row], full.curves[split]["loss"][row]
            assert torch.equal(ours[:seen], theirs[:seen])
            assert torch.isnan(ours[seen:]).all()
    for stop in {stop for stop, _ in expected}:
        short = train_population(_full_length(job, stop))
        for k in [k for k, (s, _) in enumerate(expected) if s == stop]:
            for name in job.params:
                assert torch.equal(stopped.params[name][k], short.params[name][k]), (stop, k, name)
                assert torch.equal(stopped.best_params[name][k], short.best_params[name][k]), (stop, k, name)


def test_a_diverged_member_stops_at_the_next_evaluation():
    job = _overfitting_job()
    blown = {n: p.clone() for n, p in job.params.items()}
    blown["fc1.weight"][2] = float("inf")
    result = train_population(dataclasses.replace(job, params=blown))
    assert result.diverged.tolist() == [False, False, True, False, False, False]
    assert result.stopped_iteration[2] == EVERY


def test_patience_needs_a_tracked_split():
    with pytest.raises(ValueError, match="patience needs a tracked split"):
        PopulationRun(dataclasses.replace(_overfitting_job(), track_best=None))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are forked (Linux)")
def test_stopping_members_split_over_processes_and_resumed_from_any_snapshot(tmp_path):
    """Groups whose members stop at different times join (shorter curves padded); a snapshot taken after
    some members stopped (saved and loaded with weights_only) resumes to exactly the uninterrupted result."""
    job = _overfitting_job(members=6)
    whole = train_population(job)
    assert_same_result(whole, train_in_chunks(job, 2))
    snapshots = []
    split = train_in_processes(job, 3, 2, on_snapshot=snapshots.append, snapshot_every_s=0)
    assert_same_result(whole, split)
    after = [s for s in snapshots if any(g and "snapshot" in g and len(g["snapshot"]["members"]) < 3
                                         for g in s["groups"])]
    assert after, "no snapshot was taken after a member stopped"
    for number, snapshot in enumerate(after[:2] + after[-1:]):
        path = tmp_path / f"s{number}.pt"
        torch.save(snapshot, path)
        assert_same_result(whole, train_in_processes(job, 3, 2, resume=torch.load(path, weights_only=True)))
        assert_same_result(whole, train_in_chunks(job, 3, resume=torch.load(path, weights_only=True)))
