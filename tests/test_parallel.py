import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from results_compare import assert_same_result

from lth.core.engine import Split, TrainJob, TrainSettings, train_in_chunks
from lth.core.masks import dense_masks, prune_by_rate
from lth.core.models import PopulationMLP
import lth.core.processes as processes
from lth.core.processes import (draws_per_population, member_ranges, split_ranges, train_in_processes,
                                worker_count, workers_for)

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are forked (Linux)")


def _population(members: int = 5):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(160, 20, generator=generator)
    y = (x[:, :3].argmax(1))
    train, validation, test = Split(x[:96], y[:96]), Split(x[96:128], y[96:128]), Split(x[128:], y[128:])
    model = PopulationMLP((20, 16, 8, 3))
    params = model.init_params(list(range(members)))
    masks = prune_by_rate({n: params[n].abs() for n in model.layer_names}, dense_masks(params, model.layer_names),
                          {"fc0.weight": 0.5, "fc1.weight": 0.3, "fc2.weight": 0.2})
    return model, params, masks, train, {"validation": validation, "test": test}


def _job(settings, seeds, members=5, model=None, **fields):
    """A TrainJob of the test population (``fields``: TrainJob's optional fields)."""
    default_model, params, masks, train, evaluations = _population(members)
    return TrainJob(model or default_model, params, masks, settings, train, seeds, evaluations, **fields)


def _assert_same(a, b):
    assert_same_result(a, b)


def test_member_ranges_and_worker_count():
    assert member_ranges(10, 2) == [(0, 5), (5, 10)]
    assert member_ranges(7, 3) == [(0, 2), (2, 4), (4, 7)]
    assert member_ranges(2, 8) == [(0, 1), (1, 2)]
    assert worker_count(torch.device("cuda"), 100) == 1
    assert worker_count(torch.device("cpu"), 1) == 1
    assert worker_count(torch.device("cpu"), 100) == torch.get_num_threads()


def test_fewer_groups_than_two_per_core_get_a_worker_each_with_the_same_bits(monkeypatch):
    """Three groups on two cores: three workers (the cores shared by the operating system), not two with one
    group left for a second pass; four or more: one worker per core. The members' bits do not change."""
    assert [workers_for(groups, 2) for groups in range(1, 7)] == [1, 2, 3, 2, 2, 2]
    assert workers_for(5, 4) == 5 and workers_for(8, 4) == 4
    started, real_start = [], processes._WorkerPool.start
    monkeypatch.setattr(processes._WorkerPool, "start", lambda pool, **kw: started.append(1) or real_start(pool, **kw))
    settings = TrainSettings(iterations=40, batch_size=8, optimizer="adam", lr=3e-3, eval_every=20)
    job = _job(settings, [20, 21, 22], members=3, track_best="validation")
    split = train_in_processes(job, 1, 2)
    assert len(started) == 3
    _assert_same(train_in_chunks(job, 3), split)


def test_split_ranges_regroup_only_where_grouping_cannot_matter():
    """Without shared draws a split population is cut into about four groups per process (of at least
    MIN_GROUP_WEIGHTS weights each) for the workers to share; with them each process keeps one consecutive
    share."""
    lenet = 266_610                                                             # 2,000,000 weights: 8 LeNets
    assert split_ranges(195, 2, 195) == [[0, 97], [97, 195]]
    regrouped = split_ranges(195, 2, 195, regroup_weights=lenet)
    assert regrouped[:5] == [[0, 25], [25, 50], [50, 75], [75, 97], [97, 122]] and regrouped[-1] == [172, 195]
    assert split_ranges(10, 2, 10, regroup_weights=lenet) == [[0, 5], [5, 10]]  # groups of fewer than 8: not cut
    assert split_ranges(40, 2, 4, regroup_weights=lenet) == split_ranges(40, 2, 4)  # a smaller chunk is kept
    assert split_ranges(1600, 2, 1600, regroup_weights=41) == [[0, 800], [800, 1600]]  # tiny nets: not cut
    assert len(split_ranges(1600, 2, 1600, regroup_weights=20_000)) == 8
    assert not draws_per_population(TrainSettings(iterations=1), PopulationMLP((4, 3, 2)))
    assert draws_per_population(TrainSettings(iterations=1, shared_data_order=True), PopulationMLP((4, 3, 2)))
    assert draws_per_population(TrainSettings(iterations=1, augment=True), PopulationMLP((4, 3, 2)))


def test_regrouped_split_equals_one_process(monkeypatch):
    """A population of 40 split over two processes in groups of up to 8, handed out to whichever worker is
    free (the last group first), gives every member the bits it gets in one population (the weight floor set
    to 8 of these small nets, as it is 8 LeNets)."""
    settings = TrainSettings(iterations=40, batch_size=8, optimizer="adam", lr=3e-3, eval_every=20)
    job = _job(settings, list(range(100, 140)), members=40, track_best="validation")
    monkeypatch.setattr(processes, "MIN_GROUP_WEIGHTS", 8 * processes.member_weights(job))
    snapshots = []
    split = train_in_processes(job, 40, 2, on_snapshot=snapshots.append, snapshot_every_s=0)
    assert snapshots and snapshots[-1]["ranges"] == [[0, 8], [8, 16], [16, 20], [20, 28], [28, 36], [36, 40]]
    assert {"result"} <= {key for group in snapshots[-1]["groups"] if group for key in group}
    _assert_same(train_in_chunks(job, 40), split)


@pytest.mark.parametrize("shared", [False, True])
def test_split_over_processes_equals_one_process_bit_for_bit(shared):
    """Each member's arithmetic does not depend on its process-mates: float32 results are identical,
    including curves of a split evaluated for some members only (here members 1 and 3, one per process)."""
    settings = TrainSettings(iterations=90, batch_size=8, optimizer="adam", lr=3e-3, eval_every=30,
                             shared_data_order=shared)
    job = _job(settings, [10, 11, 12, 13, 14], eval_members={"test": torch.tensor([1, 3])}, track_best="validation")
    one = train_in_chunks(job, 5)
    split = train_in_processes(job, 5, 2)
    assert split.curves["test"]["accuracy"].shape == (2, 4)
    _assert_same(one, split)


def _saved_and_loaded(snapshot, path: Path):
    """A snapshot as a checkpoint holds it: written with torch.save, read back with weights_only=True (plain
    containers and tensors only, no dataclass)."""
    torch.save(snapshot, path)
    return torch.load(path, weights_only=True)


def _shifted(snapshot):
    """``snapshot`` with every saved group's output biases shifted by 1 (in its loop state or its result)."""
    with torch.no_grad():         # a loop state's weights are saved as the leaves they are (requires_grad)
        for group in snapshot["groups"]:
            if group is not None:
                (group["result"]["params"] if "result" in group else group["snapshot"]["state"])["fc2.bias"] += 1
    return snapshot


def _assert_continued_from(snapshot, shifted, whole):
    """The training resumed from ``_shifted(snapshot)`` did continue from it rather than start over: a
    finished group comes back exactly shifted (not trained again), a running one differs from ``whole``."""
    for group, (start, stop) in zip(snapshot["groups"], snapshot["ranges"]):
        ours, theirs = shifted.params["fc2.bias"][start:stop], whole.params["fc2.bias"][start:stop]
        if group is None:
            assert torch.equal(ours, theirs)
        elif "result" in group:
            assert torch.equal(ours, theirs + 1)
        else:
            assert not torch.equal(ours, theirs)


def test_resuming_from_any_snapshot_gives_the_uninterrupted_result(tmp_path):
    """Snapshots hold every group's latest state (or its result once finished); resuming from any of them
    (saved to a file and loaded with weights_only=True), in two processes or in one, continues to exactly
    the uninterrupted result."""
    settings = TrainSettings(iterations=80, batch_size=8, optimizer="adam", lr=3e-3, eval_every=20)
    job = _job(settings, [20, 21, 22, 23, 24], track_best="validation")
    snapshots = []
    whole = train_in_processes(job, 5, 2, on_snapshot=snapshots.append, snapshot_every_s=0)
    assert len(snapshots) >= 4 and all(s["ranges"] == [[0, 2], [2, 5]] for s in snapshots)
    # the first group to finish is saved with the other's latest loop state
    mixed = [s for s in snapshots if {"result", "snapshot"} <= {key for group in s["groups"] if group for key in group}]
    assert mixed
    for number, snapshot in enumerate(snapshots[:3] + snapshots[-2:] + mixed[:1]):
        loaded = _saved_and_loaded(snapshot, tmp_path / f"split{number}.pt")
        _assert_same(whole, train_in_processes(job, 5, 2, resume=loaded))
    # a split's snapshot resumes in one process (with its own groups), whichever entry point trains it
    # (resuming in this process trains on the snapshot's tensors in place: each resume reads its file afresh)
    middle = tmp_path / "middle.pt"
    torch.save(mixed[0], middle)
    _assert_same(whole, train_in_chunks(job, 5, resume=torch.load(middle, weights_only=True)))
    _assert_same(whole, train_in_processes(job, 5, 1, resume=torch.load(middle, weights_only=True)))
    saved = torch.load(middle, weights_only=True)
    for train in (lambda resume: train_in_chunks(job, 5, resume=resume),        # one process
                  lambda resume: train_in_processes(job, 5, 2, resume=resume)):  # split
        _assert_continued_from(saved, train(_shifted(torch.load(middle, weights_only=True))), whole)
    # a snapshot from a three-process run resumes with its own ranges on any machine
    three = []
    train_in_processes(job, 5, 3, on_snapshot=three.append, snapshot_every_s=0)
    assert three[1]["ranges"] == [[0, 1], [1, 3], [3, 5]]
    _assert_same(whole, train_in_processes(job, 5, 2, resume=three[1]))


@pytest.mark.parametrize("ranges", [[[0, 5]], split_ranges(5, 2, 5)], ids=["one group", "the split's groups"])
def test_a_one_process_snapshot_resumes_split_over_processes(ranges, tmp_path):
    """A snapshot taken in one process (``train_in_groups``' schema is the split's) resumes split over two
    worker processes to exactly the uninterrupted result; with the split's own groups both workers train."""
    from lth.core.engine import train_in_groups
    settings = TrainSettings(iterations=60, batch_size=8, optimizer="sgd", lr=0.05, momentum=0.9,
                             weight_decay=1e-3, eval_every=20)
    job = _job(settings, [30, 31, 32, 33, 34], track_best="validation")
    whole = train_in_processes(job, 5, 2)
    one_process = []     # in one process a snapshot refers to the live state: save it at once, as a checkpoint does
    train_in_groups(job, ranges, on_snapshot=lambda snapshot: one_process.append(
        _saved_and_loaded(snapshot, tmp_path / f"one{len(one_process)}.pt")), snapshot_every_s=0)
    assert one_process and all(s["ranges"] == ranges for s in one_process)
    for number, snapshot in enumerate(one_process):
        _assert_same(whole, train_in_processes(job, 5, 2, resume=snapshot))
        shifted = train_in_processes(job, 5, 2, resume=_shifted(torch.load(tmp_path / f"one{number}.pt",
                                                                          weights_only=True)))
        _assert_continued_from(snapshot, shifted, whole)


def test_a_snapshot_of_another_population_is_refused():
    settings = TrainSettings(iterations=20, batch_size=8, eval_every=10)
    snapshots = []
    train_in_chunks(_job(settings, [1, 2, 3, 4, 5]), 5, on_snapshot=snapshots.append, snapshot_every_s=0)
    with pytest.raises(ValueError, match="do not cover"):
        train_in_processes(_job(settings, [1, 2, 3, 4], members=4), 4, 2, resume=snapshots[0])


class _FailingModel(PopulationMLP):
    def forward(self, params, x, training=False, grad_masks=None):
        if params["fc0.weight"].shape[0] == 3:           # only the second group's worker fails
            raise ValueError("boom in the forward pass")
        return super().forward(params, x, training, grad_masks)


def test_a_failing_worker_stops_training_with_its_traceback():
    settings = TrainSettings(iterations=40, batch_size=8, optimizer="adam", lr=3e-3, eval_every=20)
    job = _job(settings, [1, 2, 3, 4, 5], model=_FailingModel((20, 16, 8, 3)))
    with pytest.raises(RuntimeError, match=r"(?s)members 2-4 failed.*boom in the forward pass"):
        train_in_processes(job, 5, 2)


WORKER_HOST = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    import torch
    from lth.core.engine import Split, TrainJob, TrainSettings
    from lth.core.masks import dense_masks
    from lth.core.models import PopulationMLP
    from lth.core.processes import train_in_processes
    model = PopulationMLP((20, 16, 3))
    params = model.init_params([0, 1])
    data = Split(torch.randn(64, 20), torch.randint(0, 3, (64,)))
    train_in_processes(TrainJob(model, params, dense_masks(params, model.layer_names),
                                TrainSettings(iterations=10 ** 8, batch_size=8), data, [0, 1]), 2, 2)
""")


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                     if line.startswith("State:"))
    except (OSError, StopIteration):
        return False
    return "Z" not in state.split()[1]


@pytest.mark.skipif(not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(),
                    reason="needs /proc/PID/task/PID/children")
def test_workers_die_with_a_killed_parent():
    """kill -9 of the training process (as when a DVC stage is killed) leaves no worker training on."""
    parent = subprocess.Popen([sys.executable, "-c", WORKER_HOST, str(ROOT)])
    try:
        deadline = time.time() + 60
        while len(_children(parent.pid)) < 2 and time.time() < deadline:
            time.sleep(0.05)
        workers = _children(parent.pid)
        assert len(workers) == 2 and all(_alive(w) for w in workers)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.time() + 10
    while any(_alive(w) for w in workers) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers)
