"""Populations sharded over the ranks of a ``torch.distributed`` job: one rank per GPU, or per CPU process, on
one machine or several (launched by ``torchrun``; docs/distributed.md).

Why this shape: the members of a population never exchange anything while they train, so a population shards
over ranks with no gradient traffic. Every rank runs the whole stage program (data, pruning and bookkeeping are
cheap and deterministic); each trains its share of a population's member groups, and the ranks then exchange
the finished groups' results, once per population, so that every rank holds the same state again. Only the
results travel (CPU tensors, a few MB), so the exchange uses gloo on CPUs and GPUs alike: NCCL would carry
nothing here. Only rank 0 writes results (``lth.cli`` points the other ranks' results elsewhere).

A member's bits do not depend on the rank that trains it: groups are cut as one process would cut them where a
member's result depends on its group (shared draws), and any grouping gives the same bits otherwise
(``lth.core.processes``); tests compare 1, 2 and 3 ranks byte for byte.

Checkpoints: rank 0 writes the study's checkpoint; every other rank writes its own groups' progress beside it
(``rank_file``); a resumed run, on any number of ranks, merges them (``merge_group_snapshots``).
"""
from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import io
import os
import signal
from pathlib import Path
from typing import Any

# torch is imported inside the functions that need it: lth.cli imports this module for every stage, and the report
# stage loads no torch.

WORLD_ENV = "WORLD_SIZE"        # set by torchrun (and any torch.distributed launcher) for every rank


def launched() -> bool:
    """Whether this process is one of several ranks started by a torch.distributed launcher."""
    return int(os.environ.get(WORLD_ENV, "1") or 1) > 1


def start() -> None:
    """Join the launcher's process group (gloo; see the module's docstring) if this process is one of several
    ranks and has not joined yet; on GPUs, pin this rank to its own (``LOCAL_RANK``). The rank dies with the
    launcher (``torchrun``) that started it. The group is left at exit (``destroy_process_group``): gloo's
    threads torn down by the interpreter's exit instead once aborted a rank that had finished its work
    ("terminate called without an active exception", 1 run of about 10 of tests/test_ranks.py)."""
    if not launched() or world()[1] > 1:
        return
    import torch
    import torch.distributed as dist
    die_with_parent(os.getppid())        # a killed launcher takes its ranks with it, as the fork split's workers
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank() % torch.cuda.device_count())
    dist.init_process_group("gloo")
    atexit.register(_leave_group)


def _leave_group() -> None:
    import torch.distributed as dist
    if dist.is_initialized():
        dist.destroy_process_group()


def local_rank() -> int:
    """This rank's number on its machine (0 when not launched)."""
    return int(os.environ.get("LOCAL_RANK", "0") or 0)


def world() -> tuple[int, int]:
    """(this rank, number of ranks): (0, 1) outside a distributed job."""
    if not launched():
        return 0, 1
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_leader() -> bool:
    """Whether this process writes results and the study checkpoint (rank 0, or the only process)."""
    return world()[0] == 0


def barrier() -> None:
    """Wait for every rank (nothing outside a distributed job)."""
    if world()[1] > 1:
        import torch.distributed as dist
        dist.barrier()


def share(pending: list[int]) -> list[int]:
    """This rank's share of the groups ``pending`` (in the order they should be trained): every n-th one."""
    rank, ranks = world()
    return pending[rank::ranks]


def gather(value: Any) -> list[Any]:
    """Every rank's ``value`` (small plain objects), in rank order, on every rank."""
    if world()[1] == 1:
        return [value]
    import torch.distributed as dist
    values: list[Any] = [None] * world()[1]
    dist.all_gather_object(values, value)
    return values


def exchange(mine: dict[int, Any], device: Any) -> dict[int, Any]:
    """Every rank's ``mine`` (group index -> result state) merged, on every rank, with tensors on ``device``."""
    if world()[1] == 1:
        return dict(mine)
    import torch
    import torch.distributed as dist

    from lth.io import load_torch
    buffer = io.BytesIO()
    torch.save(mine, buffer)            # device tensors serialise through host memory; loaded onto ``device``
    parts: list[bytes | None] = [None] * world()[1]
    dist.all_gather_object(parts, buffer.getvalue())
    merged: dict[int, Any] = {}
    for part in parts:
        merged.update(load_torch(io.BytesIO(part), map_location=device))
    return merged


def rank_file(path: Path, rank: int) -> Path:
    """Where rank ``rank`` (> 0) keeps its progress on the study checkpointed at ``path``."""
    return path.with_name(f"{path.stem}.rank{rank}{path.suffix}")


def rank_files(path: Path) -> list[Path]:
    """Every rank file beside the checkpoint ``path`` (of this run or an earlier one, on any number of ranks)."""
    return sorted(path.parent.glob(f"{path.stem}.rank*{path.suffix}"))


def _progress(group: dict[str, Any] | None) -> float:
    """How far a group's saved state is: none, a snapshot after some iterations, or finished."""
    if group is None:
        return -1.0
    return float("inf") if "result" in group else float(group["snapshot"]["iteration"])


def merge_group_snapshots(snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    """One group snapshot (``lth.core.engine.GroupSnapshot``) from several ranks' snapshots of the same
    training: each group's most advanced state (a result, else the latest loop snapshot). Snapshots of other
    member ranges are left out (another training)."""
    ranges = snapshots[0]["ranges"]
    groups = list(snapshots[0]["groups"])
    for snapshot in snapshots[1:]:
        if [list(r) for r in snapshot["ranges"]] != [list(r) for r in ranges]:
            continue
        for index, group in enumerate(snapshot["groups"]):
            if _progress(group) > _progress(groups[index]):
                groups[index] = group
    return {"ranges": ranges, "groups": groups}


def is_group_snapshot(value: Any) -> bool:
    """Whether ``value`` has ``GroupSnapshot``'s schema (the trainings that shard over ranks save these)."""
    return isinstance(value, dict) and {"ranges", "groups"} <= set(value)


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (e.g. ``kill -9`` of a DVC stage), so that no
    orphaned worker goes on training."""
    name = ctypes.util.find_library("c")
    if name:
        pr_set_pdeathsig = 1
        ctypes.CDLL(name).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:          # the parent died before the request took effect
        os._exit(1)
