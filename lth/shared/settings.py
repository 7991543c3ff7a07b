"""Help texts every schema shares and the cross-key rules of a training schedule (its evaluation, warmup,
milestones, patience and pruning rounds within the training)."""
from __future__ import annotations

from lth.config import ConfigError

MIXED_PRECISION_HELP = ("bfloat16 autocast of the training passes (weights, optimizer state and evaluation stay "
                        "float32); off for the paper's numbers")


def check_batches_fit(section: str, batch_size: int, train_size: int) -> None:
    """Refuse a minibatch larger than the training split (it would silently train full-batch)."""
    if batch_size > train_size:
        raise ConfigError(f"params.yaml: {section}.batch_size = {batch_size}: must be at most the training "
                          f"split's {train_size} examples")


PATIENCE_HELP = ("stop a training once its validation loss has not improved for this many iterations (0 = "
                 "train every run for all `iterations`, as the papers do)")


def check_schedule(prefix: str, iterations: int, eval_every: int | None = None, warmup: int | None = None,
                   lr_milestones: list[int] | None = None, patience: int | None = None) -> None:
    """Rules between a section's schedule keys: evaluation, warmup and milestones within the training, and a
    patience of at least one evaluation interval."""
    if eval_every is not None and eval_every > iterations:
        raise ConfigError(f"params.yaml: {prefix}.eval_every = {eval_every}: must be at most {prefix}.iterations "
                          f"({iterations})")
    if patience and eval_every is not None and patience < eval_every:
        raise ConfigError(f"params.yaml: {prefix}.patience = {patience}: must be 0 (off) or at least "
                          f"{prefix}.eval_every ({eval_every}): a training is judged at its evaluations")
    if warmup is not None and warmup > iterations:
        raise ConfigError(f"params.yaml: {prefix}.warmup = {warmup}: must be at most {prefix}.iterations "
                          f"({iterations})")
    if lr_milestones:
        if list(lr_milestones) != sorted(set(lr_milestones)):
            raise ConfigError(f"params.yaml: {prefix}.lr_milestones = {lr_milestones}: must be strictly "
                              "increasing")
        if lr_milestones[-1] > iterations:
            raise ConfigError(f"params.yaml: {prefix}.lr_milestones = {lr_milestones}: must be at most "
                              f"{prefix}.iterations ({iterations})")


def check_rounds(prefix: str, key: str, rounds: list[int], last: int) -> None:
    """Refuse pruning rounds (curves, one-shot levels) beyond the last round the schedule reaches."""
    beyond = [r for r in rounds if r > last]
    if beyond:
        raise ConfigError(f"params.yaml: {prefix}.{key} = {rounds}: round {beyond[0]} is beyond the last pruning "
                          f"round ({last}) of this schedule")
