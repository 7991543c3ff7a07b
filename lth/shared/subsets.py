"""Subsets of the prepared data and how many members train at once on a device."""
from __future__ import annotations

import torch

from lth.config import ConfigError
from lth.data import Split


def first_examples(split: Split, count: int, key: str, name: str) -> Split:
    """The first ``count`` examples of ``split`` (all of them for 0); a clear error naming ``key`` when the
    split has fewer."""
    if not count:
        return split
    if count > len(split):
        raise ConfigError(f"params.yaml: {key} = {count}: the prepared {name} split has only {len(split)} images "
                          f"(use at most {len(split)}, or 0 for all of them)")
    return Split(split.x[:count], split.y[:count])


def population_chunk(device: torch.device) -> int | None:
    """Members trained at once. On a CPU the conv nets are compute-bound and grouped convolutions gain
    nothing over one member at a time (bench/README.md), so members train one after another; on a GPU the
    whole population trains together."""
    return 1 if device.type == "cpu" else None
