"""The resumable study driver: a study is a list of named steps run in order; the state is saved after every
step (and, through ``partial``, within a long training), so a killed run resumes from the last finished step
and gives results identical to an uninterrupted run.

A checkpoint is resumed only by the run that wrote it: same resolved config, same dataset (its sizes and file
hash), same code (its fingerprint, ``study_fingerprint``); any other is set aside with a message and the run
starts over. Which steps are finished is the checkpoint's ``done`` list; what a step computes is whatever it
stores in the state.

In a distributed job (``lth.ranks``) rank 0 writes the checkpoint and every other rank writes its own
trainings' progress beside it; a resumed run, on any number of ranks, merges them.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from lth.data import DeviceData
from lth.errors import EnvironmentSettingError
from lth.io import read_checkpoint, save_torch_atomic
from lth.provenance import code_sha256
from lth.ranks import (barrier, gather, is_group_snapshot, merge_group_snapshots, rank_file, rank_files,
                       world)

# Bump when the checkpoint's layout changes (the code hash changes anyway with any edit of the code).
CHECKPOINT_SCHEMA = 3

Step = tuple[str, Callable[[dict[str, Any]], None]]


def store(name: str, compute: Callable[[], Any]) -> Step:
    """The step ``name`` that keeps what ``compute()`` returns as ``state[name]``."""
    return name, lambda state: state.__setitem__(name, compute())


def study_fingerprint(config: Any, data: DeviceData) -> str:
    """What a checkpoint is tied to: the resolved config (a dataclass), the data's split sizes and source file
    hash, the code (``code_sha256``), the checkpoint schema and whether float32 products use TF32 (set by
    ``lth.device.configure_numerics`` before any study starts)."""
    return hashlib.sha256(json.dumps(
        {"config": dataclasses.asdict(config), "data": [len(data.train), len(data.validation), len(data.test)],
         "data_sha256": data.source_sha256, "code": code_sha256(), "schema": CHECKPOINT_SCHEMA,
         "tf32": torch.backends.cuda.matmul.allow_tf32},
        sort_keys=True).encode()).hexdigest()


class StudyDriver:
    """One study's checkpoint (``path``, ``fingerprint``), its name in messages (``label``) and its progress
    bar (``progress``). ``state`` is the study's state: what ``start`` loaded or began with, what the steps
    and the within-training snapshots (``state["partial"]``) write."""

    def __init__(self, path: Path, fingerprint: str, label: str, device: torch.device, progress: bool = True):
        self.path, self.fingerprint, self.label = path, fingerprint, label
        self.device, self.progress = device, progress
        self.state: dict[str, Any] = {}

    def save(self) -> None:
        """Write the checkpoint (rank 0) or this rank's progress (any other rank); if that fails (disk full,
        ...), say so and go on: only resumability is lost."""
        rank = world()[0]
        target = self.path if rank == 0 else rank_file(self.path, rank)
        payload = self.state if rank == 0 else {key: self.state.get(key) for key in ("fingerprint", "done", "partial")}
        try:
            save_torch_atomic(target, payload)
        except OSError as error:
            print(f"{self.label}: could not save progress to {target} ({error}); training continues, "
                  "but a killed run would start over", file=sys.stderr)

    def load(self) -> dict[str, Any] | None:
        """The checkpoint's state if this very run wrote it (on any device; mapped to this one), with the
        other ranks' progress merged in, else None (saying so). A damaged checkpoint stops the stage with one
        line (``read_checkpoint``) rather than silently throwing its progress away."""
        if not self.path.exists():
            return None
        saved = read_checkpoint(self.path, self.label, self.device)
        if saved.get("fingerprint") != self.fingerprint:
            print(f"{self.label}: {self.path} was written by another config, dataset or code version; "
                  "starting over", file=sys.stderr)
            return None
        return self._merge_ranks(saved)

    def _merge_ranks(self, saved: dict[str, Any]) -> dict[str, Any]:
        """``saved`` with the group snapshots that other ranks saved of its current training (same step, same
        training key) merged into its ``partial``."""
        partial = saved.get("partial")
        key = partial["key"] if partial else None
        snapshots = [partial["run"]] if partial and is_group_snapshot(partial["run"]) else []
        for path in rank_files(self.path):
            other = read_checkpoint(path, self.label, self.device)
            theirs = other.get("partial")
            if (other.get("fingerprint") != self.fingerprint or other.get("done") != saved["done"] or not theirs
                    or not is_group_snapshot(theirs["run"]) or key not in (None, theirs["key"])):
                continue
            key = theirs["key"]
            snapshots.append(theirs["run"])
        if snapshots:
            saved["partial"] = {"key": key, "run": merge_group_snapshots(snapshots)}
        return saved

    def start(self, initial: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The saved state if it matches this run, else a new one (``initial()``, with the fingerprint and
        no step done); it becomes ``state``. Rank files of a run that left no checkpoint are deleted, after
        every rank has read what it needs."""
        saved = self.load()
        self.state = saved or {"fingerprint": self.fingerprint, "done": [], **initial()}
        self._check_ranks_agree()
        if saved is None and world()[0] == 0:
            for path in rank_files(self.path):
                path.unlink(missing_ok=True)
        barrier()
        return self.state

    def _check_ranks_agree(self) -> None:
        """Stop with a clear message when the ranks of a distributed job resume from different points (each
        node saw its own ``checkpoints/``): they would train different steps and wait for each other forever."""
        seen = gather((list(self.state["done"]), (self.state.get("partial") or {}).get("key")))
        if any(point != seen[0] for point in seen):
            raise EnvironmentSettingError(
                f"{self.label}: the ranks found different progress in {self.path.parent} (rank 0: "
                f"{len(seen[0][0])} steps done; " + ", ".join(f"rank {r}: {len(p[0])}" for r, p in enumerate(seen)
                                                              if p != seen[0]) +
                "); put checkpoints/ on a filesystem every machine shares, or delete it there to start over")

    def run(self, steps: list[Step], unit: str = "steps") -> dict[str, Any]:
        """Run every step (``(name, function of the state)``) that the state does not list as done, in order,
        saving after each and advancing one progress bar; returns the state."""
        done = self.state["done"]
        bar = tqdm(total=len(steps), desc=f"{self.label} {unit}", disable=not self.progress,
                   initial=sum(name in done for name, _ in steps))
        for name, step in steps:
            if name in done:
                continue
            step(self.state)
            done.append(name)
            self.save()
            bar.update(1)
        bar.close()
        return self.state
