"""Train one population split over worker processes, one single-threaded process per CPU core.

Why: a LeNet population step is a chain of thin matrix products and memory-bound passes. One process
with two threads splits every one of them in two and meets at a barrier after each; two single-thread
processes, each training its own members, never wait for each other (bench/README.md has the measurements).
A population is cut into groups that the workers take as they free up, so they finish together.
The small conv nets (Conv-2/4/6) gain from it too: their convolutions keep two threads only partly busy. The
split is CPU-only: on a GPU a population trains in one process.

Members are independent and each member's arithmetic does not depend on which other members share its
process, so the split does not change the results (tests check them bit for bit against one process).
Workers are forked (Linux), so the data and model are shared copy-on-write, never pickled; results and
snapshots come back through pipes. A worker dies with its parent (killed or not), and a failing worker
stops the whole training with the worker's traceback.
"""
from __future__ import annotations

import io
import math
import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
import traceback
from typing import Any, Callable

import torch

from lth.core.engine import (GroupSnapshot, TrainJob, TrainResult, TrainSettings, check_ranges, chunk_ranges,
                             join_results, train_group, train_in_groups, train_listed_groups)
from lth.io import load_torch
from lth.ranks import die_with_parent, exchange, share, world


# A split population is cut into about this many groups per worker process (when its members' results do not
# depend on their grouping), handed out to whichever worker is free: in the lotteries' controls populations the
# later members (the sparser rounds' controls) train several times longer than the first, and with one
# consecutive share per process one worker trained alone for the last third of the time (docs/measurements.md).
GROUPS_PER_PROCESS = 4
# ... but never in groups of fewer weights than this (about eight LeNet-300-100s): a population steps less
# efficiently the smaller it is, and a group of tiny nets (XOR's) pays mostly the per-step overhead, so their
# populations are not cut at all.
MIN_GROUP_WEIGHTS = 2_000_000


def draws_per_population(settings: TrainSettings, model: Any) -> bool:
    """Whether a population's random draws are shared (one batch order for all, or dropout and augmentation
    draws seeded by its first member): then a member's result depends on which members it trains with, so its
    groups must keep their composition; otherwise any grouping gives every member the same bits."""
    return bool(settings.shared_data_order or settings.augment or getattr(model, "dropout", 0.0))


def worker_count(device: torch.device, members: int) -> int:
    """Processes to split a population of ``members`` over: one per thread torch would use on this CPU
    (``OMP_NUM_THREADS`` / ``torch.set_num_threads`` set it), at most one per member; 1 on a GPU and
    where processes cannot be forked (only Linux is supported)."""
    if device.type != "cpu" or not sys.platform.startswith("linux"):
        return 1
    return max(1, min(torch.get_num_threads(), members))


def workers_for(groups: int, processes: int) -> int:
    """Worker processes for ``groups`` groups on ``processes`` cores: one per core while the groups are at
    least two per core (the queue shares them out), else one per group. Three equal groups on two cores then
    all finish at about 1.5 group-times, the operating system sharing the cores, instead of two on the first
    pass and one alone on the second (a lottery round of 3 trials trained one member at a time). Every worker
    is single-threaded, so the results do not change (docs/measurements.md, session 19)."""
    return groups if groups < 2 * processes else processes


def member_ranges(members: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` consecutive [start, stop) ranges covering ``members`` members, sizes differing by at most 1."""
    parts = max(1, min(parts, members))
    bounds = [members * i // parts for i in range(parts + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def split_ranges(members: int, processes: int, chunk: int, regroup_weights: int | None = None) -> list[list[int]]:
    """The member groups of a population split over ``processes``: each process's consecutive share, cut into
    groups of at most ``chunk`` members (the groups ``train_in_chunks`` would train in it) and, given
    ``regroup_weights`` (the weights of one member, where results do not depend on grouping), into about
    ``GROUPS_PER_PROCESS`` groups per process of at least ``MIN_GROUP_WEIGHTS`` weights, so that the workers
    can share the load."""
    if regroup_weights is not None and processes > 1:
        smallest = math.ceil(MIN_GROUP_WEIGHTS / max(1, regroup_weights))
        chunk = min(chunk, max(smallest, math.ceil(members / (processes * GROUPS_PER_PROCESS))))
    return [r for start, stop in member_ranges(members, processes) for r in chunk_ranges(start, stop, chunk)]


def member_weights(job: TrainJob) -> int:
    """Weights (parameters) of one member of ``job``'s population."""
    return sum(p[0].numel() for p in job.params.values())


def train_in_processes(job: TrainJob, chunk: int, processes: int, resume: GroupSnapshot | None = None,
                       on_snapshot: Callable[[GroupSnapshot], None] | None = None,
                       snapshot_every_s: float = 600.0) -> TrainResult:
    """``train_in_groups`` with the groups spread over ``processes`` single-threaded worker processes; the
    same result as one process. A worker takes the next unfinished group whenever it is free, the last
    groups first (a lottery's population lists its longest-training members last), so a slow group does not
    hold up the others.

    Snapshots have ``train_in_groups``' schema: every group's member range and latest state (its worker's
    loop snapshot or, once finished, its result). Resuming restarts only the unfinished groups, and works
    from a one-process snapshot and on a machine with another number of cores. With ``processes`` <= 1 this
    is ``train_in_groups`` in this process.

    In a distributed job (``lth.ranks``) each rank trains its share of the unfinished groups (split over
    its own processes as above) and the ranks then exchange the results; every rank returns the whole result.
    Its snapshots hold its own groups' states; a resumed run merges every rank's."""
    members, (_, ranks) = job.members, world()
    regroup = None if draws_per_population(job.settings, job.model) else member_weights(job)
    # Where grouping changes a member's bits (regroup None), groups are cut as one rank would cut them.
    shares = max(1, processes) * (ranks if regroup is not None else 1)
    ranges = ([list(r) for r in resume["ranges"]] if resume is not None
              else split_ranges(members, shares, chunk, regroup))
    check_ranges(ranges, members)
    if ranks == 1 and (processes <= 1 or members < 2):
        return train_in_groups(job, ranges, resume, on_snapshot, snapshot_every_s)
    groups: list[dict[str, Any] | None] = list(resume["groups"]) if resume is not None else [None] * len(ranges)
    mine = share([i for i, g in enumerate(groups) if g is None or "result" not in g][::-1])
    if processes > 1:
        pool = _WorkerPool(job, ranges, groups, mine, on_snapshot, snapshot_every_s)
        try:
            for number in range(workers_for(len(mine), processes)):
                pool.start(show_progress=number == 0)
            pool.collect()
        finally:
            pool.stop()
    else:
        train_listed_groups(job, ranges, groups, mine, on_snapshot, snapshot_every_s)
    device = next(iter(job.params.values())).device
    for index, result in exchange({i: groups[i]["result"] for i in mine}, device).items():
        groups[index] = {"result": result}
    return join_results([TrainResult.from_state(group["result"]) for group in groups], job)


class _WorkerPool:
    """The forked workers of one split training, the queue of groups they take from, and the parent's side of
    their pipes."""

    def __init__(self, job: TrainJob, ranges: list[list[int]], groups: list[dict[str, Any] | None],
                 pending: list[int], on_snapshot: Callable[[GroupSnapshot], None] | None, snapshot_every_s: float):
        self.job, self.ranges, self.groups, self.pending = job, ranges, groups, pending
        self.on_snapshot, self.snapshot_every_s = on_snapshot, snapshot_every_s
        self.context = multiprocessing.get_context("fork")
        self.taken = self.context.Value("i", 0)      # how many of ``pending`` workers have taken (shared memory)
        self.parent = os.getpid()
        # per worker: its process and the group it trains now (None before its first)
        self.workers: dict[multiprocessing.connection.Connection, list[Any]] = {}

    def members(self, index: int | None) -> str:
        """The members of group ``index``, for messages."""
        return "(none yet)" if index is None else f"{self.ranges[index][0]}-{self.ranges[index][1] - 1}"

    def start(self, show_progress: bool) -> None:
        """Fork a worker that trains groups until none is left."""
        receiver, sender = self.context.Pipe(duplex=False)
        process = self.context.Process(target=self.work, args=(show_progress, sender), daemon=True,
                                       name=f"lth-worker-{len(self.workers)}")
        process.start()
        sender.close()
        self.workers[receiver] = [process, None]

    def take(self) -> int | None:
        """The next group to train (None when every group is taken): one counter shared by all workers."""
        with self.taken.get_lock():
            position = self.taken.value
            self.taken.value += 1
        return self.pending[position] if position < len(self.pending) else None

    def work(self, show_progress: bool, connection: multiprocessing.connection.Connection) -> None:
        """The worker's whole life: train groups single-threaded as long as there are any (with a progress bar
        for each when ``show_progress``), send snapshots and results."""
        die_with_parent(self.parent)
        _fresh_progress_bar_locks()
        torch.set_num_threads(1)
        try:
            while (index := self.take()) is not None:
                connection.send_bytes(_pack(("start", index, None)))
                send = ((lambda state, index=index: connection.send_bytes(_pack(("snapshot", index, state))))
                        if self.on_snapshot else None)
                result = train_group(self.job, self.ranges, index, self.groups[index], send, self.snapshot_every_s,
                                     progress=show_progress)
                connection.send_bytes(_pack(("done", index, result.to_state())))
            connection.send_bytes(_pack(("finished", -1, None)))
        except BaseException:               # noqa: BLE001 - every failure must reach the parent
            connection.send_bytes(_pack(("error", -1, traceback.format_exc())))
        finally:
            connection.close()

    def collect(self) -> None:
        """Receive snapshots and results until every worker is done; save a group snapshot after each
        snapshot or result while some group is unfinished (once all are done the caller has the result to save)."""
        while self.workers:
            for connection in multiprocessing.connection.wait(list(self.workers)):
                process, index = self.workers[connection]
                try:
                    kind, message_index, payload = _unpack(connection.recv_bytes())
                except EOFError:
                    process.join()
                    raise RuntimeError(f"the worker process training members {self.members(index)} died "
                                       f"(exit code {process.exitcode}) before it finished") from None
                if kind == "error":
                    raise RuntimeError(f"the worker process training members {self.members(index)} failed:\n"
                                       f"{payload}")
                if kind == "start":
                    self.workers[connection][1] = message_index
                    continue
                if kind == "finished":
                    del self.workers[connection]
                    connection.close()
                    process.join()
                    continue
                self.groups[message_index] = {"snapshot": payload} if kind == "snapshot" else {"result": payload}
                if self.on_snapshot is not None and any(g is None or "result" not in g for g in self.groups):
                    self.on_snapshot({"ranges": self.ranges, "groups": list(self.groups)})

    def stop(self) -> None:
        """Kill whatever worker is still running (after a failure)."""
        for connection, (process, _) in self.workers.items():
            process.kill()
            process.join()
            connection.close()


def _pack(message: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(message, buffer)
    return buffer.getvalue()


def _unpack(data: bytes) -> Any:
    return load_torch(io.BytesIO(data))


def _fresh_progress_bar_locks() -> None:
    """Give tqdm new locks in a forked worker: the parent's tqdm monitor thread may have held one at the
    fork, and the worker (which has no such thread) would then wait for it forever."""
    import tqdm.auto
    import tqdm.std
    tqdm.std.TqdmDefaultWriteLock.th_lock = threading.RLock()
    for bar_class in {tqdm.std.tqdm, tqdm.auto.tqdm}:
        bar_class.set_lock(tqdm.std.TqdmDefaultWriteLock())
