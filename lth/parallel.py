"""Train one population split over worker processes, one single-threaded process per CPU core.

Why: a LeNet population step is a chain of thin matrix products and memory-bound passes. One process
with two threads splits every one of them in two and meets at a barrier after each; two single-thread
processes, each with half the members, never wait for each other. Measured on the 2-core CPU (LeNet-300-100,
batch 60, Adam): 2 x 64 members in two processes 1,605-1,639 model-steps/s vs 128 in one 1,418-1,441
(+11-15%); 2 x 5 vs 10 (the quick MNIST stage's populations): 1,392 vs 1,233 (+13%). Conv nets already
use both cores fully with threads, so they stay in one process.

Members are independent and each member's arithmetic does not depend on which other members share its
process, so the split does not change the results (tests check them bit for bit against one process).
Workers are forked (Linux), so the data and model are shared copy-on-write, never pickled; results and
snapshots come back through pipes. A worker dies with its parent (killed or not), and a failing worker
stops the whole training with the worker's traceback.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import io
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import traceback
from typing import Any, Callable

import torch

from lth.engine import (MEMBER_ALIGNMENT, PopulationModel, Split, TrainResult, TrainSettings, group_data_seeds,
                        join_results, make_optimizer, members_slice, members_slice_evaluations,
                        train_in_chunks)
from lth.masks import Masks


def worker_count(device: torch.device, members: int) -> int:
    """Processes to split a population of ``members`` over: one per thread torch would use on this CPU
    (``OMP_NUM_THREADS`` / ``torch.set_num_threads`` set it), at most one per member; 1 on a GPU and
    where processes cannot be forked (only Linux is supported)."""
    if device.type != "cpu" or not sys.platform.startswith("linux"):
        return 1
    return max(1, min(torch.get_num_threads(), members))


def member_ranges(members: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` consecutive [start, stop) ranges covering ``members`` members, sizes differing by at most 1."""
    parts = max(1, min(parts, members))
    bounds = [members * i // parts for i in range(parts + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def train_in_processes(model: PopulationModel, params: dict[str, torch.Tensor], masks: Masks,
                       settings: TrainSettings, train: Split, data_seeds: list[int], chunk: int, processes: int,
                       evaluations: dict[str, Split] | None = None, progress: str | None = None,
                       eval_members: dict[str, torch.Tensor] | None = None, track_best: str | None = None,
                       resume: dict[str, Any] | None = None,
                       on_snapshot: Callable[[dict[str, Any]], None] | None = None,
                       snapshot_every_s: float = 600.0) -> TrainResult:
    """``train_in_chunks`` with the members split into ``processes`` consecutive groups, each trained by its
    own single-threaded worker process; the same result as one process.

    A snapshot (see ``train_population``) holds each group's member range and its latest state: the
    worker's own snapshot or, once finished, its result. Resuming from one restarts only the unfinished
    groups, from their snapshots, with the snapshot's ranges (so it works on a machine with another number
    of cores). ``resume`` may also be a one-process ``train_in_chunks`` snapshot, which is honoured in one
    process. With ``processes`` <= 1 this is ``train_in_chunks``."""
    members = len(data_seeds)
    split_snapshot = resume is not None and "ranges" in resume
    if not split_snapshot and (processes <= 1 or members < 2 or resume is not None):
        # One process: asked for, nothing to split, or continuing a snapshot taken in one process.
        return train_in_chunks(model, params, masks, settings, train, data_seeds, chunk, evaluations, progress,
                               eval_members=eval_members, track_best=track_best, resume=resume,
                               on_snapshot=on_snapshot, snapshot_every_s=snapshot_every_s)
    ranges = [tuple(r) for r in resume["ranges"]] if resume is not None else member_ranges(members, processes)
    if ranges[-1][1] != members:
        raise ValueError(f"the snapshot covers {ranges[-1][1]} members but the population has {members}")
    groups: list[dict[str, Any] | None] = list(resume["groups"]) if resume is not None else [None] * len(ranges)
    _import_what_optimizers_import(settings)
    context = multiprocessing.get_context("fork")
    parent = os.getpid()
    workers: dict[multiprocessing.connection.Connection, tuple[int, multiprocessing.Process]] = {}

    def save() -> None:
        if on_snapshot is not None:
            on_snapshot({"ranges": ranges, "groups": list(groups)})

    def work(index: int, connection: multiprocessing.connection.Connection) -> None:
        """The worker's whole life: train its group single-threaded, send snapshots and the result."""
        _die_with_parent(parent)
        _fresh_progress_bar_locks()
        torch.set_num_threads(1)
        start, stop = ranges[index]
        try:
            group_evals, group_members = members_slice_evaluations(evaluations, eval_members or {}, start, stop)
            saved = groups[index]
            send = (lambda state: connection.send_bytes(_pack(("snapshot", state)))) if on_snapshot else None
            result = train_in_chunks(model, members_slice(params, start, stop), members_slice(masks, start, stop),
                                     settings, train,
                                     group_data_seeds(settings, data_seeds, start, stop), chunk, group_evals,
                                     progress if index == 0 else None, eval_members=group_members,
                                     track_best=track_best, resume=saved["snapshot"] if saved else None,
                                     on_snapshot=send, snapshot_every_s=snapshot_every_s)
            connection.send_bytes(_pack(("done", result)))
        except BaseException:               # noqa: BLE001 - every failure must reach the parent
            connection.send_bytes(_pack(("error", traceback.format_exc())))
        finally:
            connection.close()

    try:
        for index, saved in enumerate(groups):
            if saved is not None and "result" in saved:
                continue
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=work, args=(index, sender), daemon=True,
                                      name=f"lth-members-{ranges[index][0]}-{ranges[index][1]}")
            process.start()
            sender.close()
            workers[receiver] = (index, process)
        while workers:
            for connection in multiprocessing.connection.wait(list(workers)):
                index, process = workers[connection]
                start, stop = ranges[index]
                try:
                    kind, payload = _unpack(connection.recv_bytes())
                except EOFError:
                    process.join()
                    raise RuntimeError(f"the worker process training members {start}-{stop - 1} died "
                                       f"(exit code {process.exitcode}) before it finished") from None
                if kind == "error":
                    raise RuntimeError(f"the worker process training members {start}-{stop - 1} failed:\n{payload}")
                if kind == "snapshot":
                    groups[index] = {"snapshot": payload}
                else:
                    groups[index] = {"result": payload}
                    del workers[connection]
                    connection.close()
                    process.join()
                if workers:                 # once all are done the caller has the result to save
                    save()
    finally:
        for connection, (_, process) in workers.items():
            process.kill()
            process.join()
            connection.close()
    return join_results([group["result"] for group in groups], evaluations, track_best)


def _import_what_optimizers_import(settings: TrainSettings) -> None:
    """Build a throwaway optimizer, so that the modules torch imports for the first one in a process
    (``torch._dynamo``: 1.0-1.4 s here) are imported once, before forking, instead of in every worker of
    every population."""
    make_optimizer([torch.zeros(MEMBER_ALIGNMENT, requires_grad=True)], settings)


def _pack(message: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(message, buffer)
    return buffer.getvalue()


def _unpack(data: bytes) -> Any:
    return torch.load(io.BytesIO(data), weights_only=False)


def _fresh_progress_bar_locks() -> None:
    """Give tqdm new locks in a forked worker: the parent's tqdm monitor thread may have held one at the
    fork, and the worker (which has no such thread) would then wait for it forever."""
    import tqdm.auto
    import tqdm.std
    tqdm.std.TqdmDefaultWriteLock.th_lock = threading.RLock()
    for bar_class in {tqdm.std.tqdm, tqdm.auto.tqdm}:
        bar_class.set_lock(tqdm.std.TqdmDefaultWriteLock())


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (e.g. ``kill -9`` of a DVC stage), so that no
    orphaned worker goes on training."""
    name = ctypes.util.find_library("c")
    if name:
        pr_set_pdeathsig = 1
        ctypes.CDLL(name).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:          # the parent died before the request took effect
        os._exit(1)
