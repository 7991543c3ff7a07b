"""Settings every experiment shares: help texts, the config-to-engine settings mapping, and the cross-key rules of
a training schedule."""
from __future__ import annotations

from typing import Any

from lth.config import ConfigError
from lth.core.engine import TrainSettings

MIXED_PRECISION_HELP = ("bfloat16 autocast of the training passes (weights, optimizer state and evaluation stay "
                        "float32); off for the paper's numbers")


# TrainSettings field -> the params key that sets it, where the names differ.
_SETTING_KEYS = {"warmup_iterations": "warmup"}


def train_settings(config: Any, **fixed: Any) -> TrainSettings:
    """The engine's settings from an experiment's config: every ``TrainSettings`` field the config has
    (``warmup`` sets ``warmup_iterations``), the engine's defaults for the rest, ``fixed`` over both."""
    values = {}
    for name in TrainSettings.__dataclass_fields__:
        key = _SETTING_KEYS.get(name, name)
        if hasattr(config, key):
            value = getattr(config, key)
            values[name] = tuple(value) if isinstance(value, list) else value
    return TrainSettings(**{**values, **fixed})


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
