import copy
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from lth.engine import Split, TrainSettings, train_in_chunks
from lth.masks import dense_masks, prune_by_rate
from lth.models import PopulationMLP
from lth.parallel import member_ranges, train_in_processes, worker_count

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


def _assert_same(a, b):
    for name in a.params:
        assert torch.equal(a.params[name], b.params[name]), name
        assert torch.equal(a.best_params[name], b.best_params[name]), name
    assert torch.equal(a.best_iteration, b.best_iteration) and torch.equal(a.diverged, b.diverged)
    assert a.eval_iterations == b.eval_iterations
    for split, curves in a.curves.items():
        for metric, values in curves.items():
            assert torch.equal(values, b.curves[split][metric]), (split, metric)


def test_member_ranges_and_worker_count():
    assert member_ranges(10, 2) == [(0, 5), (5, 10)]
    assert member_ranges(7, 3) == [(0, 2), (2, 4), (4, 7)]
    assert member_ranges(2, 8) == [(0, 1), (1, 2)]
    assert worker_count(torch.device("cuda"), 100) == 1
    assert worker_count(torch.device("cpu"), 1) == 1
    assert worker_count(torch.device("cpu"), 100) == torch.get_num_threads()


@pytest.mark.parametrize("shared", [False, True])
def test_split_over_processes_equals_one_process_bit_for_bit(shared):
    """Each member's arithmetic does not depend on its process-mates: float32 results are identical,
    including curves of a split evaluated for some members only (here members 1 and 3, one per process)."""
    model, params, masks, train, evaluations = _population()
    settings = TrainSettings(iterations=90, batch_size=8, optimizer="adam", lr=3e-3, eval_every=30,
                             shared_data_order=shared)
    chosen = {"test": torch.tensor([1, 3])}
    seeds = [10, 11, 12, 13, 14]
    one = train_in_chunks(model, params, masks, settings, train, seeds, 5, evaluations, eval_members=chosen,
                          track_best="validation")
    split = train_in_processes(model, params, masks, settings, train, seeds, 5, 2, evaluations,
                               eval_members=chosen, track_best="validation")
    assert split.curves["test"]["accuracy"].shape == (2, 4)
    _assert_same(one, split)


def test_resuming_from_any_snapshot_gives_the_uninterrupted_result():
    """Snapshots hold every group's latest state (or its result once finished); resuming from any of them,
    or from a snapshot taken in one process, continues to exactly the uninterrupted result."""
    model, params, masks, train, evaluations = _population()
    settings = TrainSettings(iterations=80, batch_size=8, optimizer="adam", lr=3e-3, eval_every=20)
    seeds = [20, 21, 22, 23, 24]
    snapshots = []
    whole = train_in_processes(model, params, masks, settings, train, seeds, 5, 2, evaluations,
                               track_best="validation", on_snapshot=snapshots.append, snapshot_every_s=0)
    assert len(snapshots) >= 4 and all(s["ranges"] == [(0, 2), (2, 5)] for s in snapshots)
    assert any(any(g is not None and "result" in g for g in s["groups"]) for s in snapshots)
    for snapshot in snapshots[:3] + snapshots[-2:]:
        resumed = train_in_processes(model, params, masks, settings, train, seeds, 5, 2, evaluations,
                                     track_best="validation", resume=snapshot)
        _assert_same(whole, resumed)
    # a snapshot from a three-process run resumes with its own ranges on any machine
    three = []
    train_in_processes(model, params, masks, settings, train, seeds, 5, 3, evaluations, track_best="validation",
                       on_snapshot=three.append, snapshot_every_s=0)
    _assert_same(whole, train_in_processes(model, params, masks, settings, train, seeds, 5, 2, evaluations,
                                           track_best="validation", resume=three[1]))
    one_process = []      # (in one process a snapshot refers to the live state: copy it, as saving does)
    train_in_chunks(model, params, masks, settings, train, seeds, 5, evaluations, track_best="validation",
                    on_snapshot=lambda snapshot: one_process.append(copy.deepcopy(snapshot)), snapshot_every_s=0)
    _assert_same(whole, train_in_processes(model, params, masks, settings, train, seeds, 5, 2, evaluations,
                                           track_best="validation", resume=one_process[0]))


class _FailingModel(PopulationMLP):
    def forward(self, params, x, training=False, grad_masks=None, weight_updates=None):
        if params["fc0.weight"].shape[0] == 3:           # only the second group's worker fails
            raise ValueError("boom in the forward pass")
        return super().forward(params, x, training, grad_masks, weight_updates)


def test_a_failing_worker_stops_training_with_its_traceback():
    _, params, masks, train, evaluations = _population()
    settings = TrainSettings(iterations=40, batch_size=8, optimizer="adam", lr=3e-3, eval_every=20)
    with pytest.raises(RuntimeError, match=r"(?s)members 2-4 failed.*boom in the forward pass"):
        train_in_processes(_FailingModel((20, 16, 8, 3)), params, masks, settings, train, [1, 2, 3, 4, 5], 5, 2,
                           evaluations)


WORKER_HOST = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    import torch
    from lth.engine import Split, TrainSettings
    from lth.masks import dense_masks
    from lth.models import PopulationMLP
    from lth.parallel import train_in_processes
    model = PopulationMLP((20, 16, 3))
    params = model.init_params([0, 1])
    data = Split(torch.randn(64, 20), torch.randint(0, 3, (64,)))
    train_in_processes(model, params, dense_masks(params, model.layer_names),
                       TrainSettings(iterations=10 ** 8, batch_size=8), data, [0, 1], 2, 2)
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
