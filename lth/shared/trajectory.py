"""Weights along a training: what the early-bird, mask-distance and rewinding studies read from a run.

``train_recording`` trains a population with the engine as it is and keeps, at every evaluation point
before the end, a copy of the tensors it is asked for (the batch-norm scales at each epoch, every weight at
iteration k, ...), taken from the engine's snapshot of the loop. The run itself is the run it would be
without recording (a snapshot only reads the state).
"""
from __future__ import annotations

from typing import Callable

import torch

from lth.core.engine import TrainJob, TrainResult, chunk_ranges, join_results, train_population

Tensors = dict[str, torch.Tensor]


def train_recording(job: TrainJob, keep: Callable[[Tensors, range], Tensors],
                    chunk: int | None = None) -> tuple[TrainResult, list[Tensors]]:
    """Train ``job`` (``chunk`` members at a time; None = all together) and return its result and, for every
    evaluation point before the last iteration, ``keep(state, members)`` of every member (cloned, stacked in
    member order; ``members`` says which of the job's members the state's rows are). Needs a fixed length
    (no ``patience``): every member has a value at every point."""
    if job.settings.patience:
        raise ValueError("recording along a training needs every member to train all iterations (patience 0)")
    parts, points = [], []
    for start, stop in chunk_ranges(0, job.members, chunk or job.members):
        part = job.members_slice(start, stop, job.progress if chunk is None else
                                 (f"{job.progress} members {start + 1}-{stop}/{job.members}" if job.progress else None))
        kept: list[Tensors] = []
        rows = range(start, stop)
        parts.append(train_population(part, on_snapshot=lambda snapshot: kept.append(
            {n: t.detach().clone() for n, t in keep(snapshot["state"], rows).items()}), snapshot_every_s=0.0))
        points.append(kept)
    joined = [{n: torch.cat([group[i][n] for group in points]) for n in points[0][i]} for i in range(len(points[0]))]
    # (a point where ``keep`` kept nothing stays an empty mapping)
    return join_results(parts, job), joined


def interpolate(a: Tensors, b: Tensors, alpha: float) -> Tensors:
    """(1 - alpha) a + alpha b of every tensor (float ones; others, e.g. counters, from ``a``)."""
    return {n: torch.lerp(a[n], b[n], alpha) if a[n].is_floating_point() else a[n] for n in a}
