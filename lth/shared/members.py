"""Members of a population: reproducible per-member seeds, and repeating or tiling members into controls."""
from __future__ import annotations

import hashlib
from typing import Any

import torch


def derive_seed(*parts: Any) -> int:
    """A 31-bit seed determined only by ``parts`` (so every member's randomness is reproducible alone)."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "little") & 0x7FFFFFFF


def repeat_each(tensors: dict[str, torch.Tensor], times: int) -> dict[str, torch.Tensor]:
    """Every member ``times`` times in a row (members a, b -> a, a, b, b): controls per ticket."""
    return {name: t.repeat_interleave(times, 0) for name, t in tensors.items()}


def tile(tensors: dict[str, torch.Tensor], times: int) -> dict[str, torch.Tensor]:
    """The whole population ``times`` times (members a, b -> a, b, a, b): one copy per level or heuristic."""
    return {name: t.repeat(times, *([1] * (t.dim() - 1))) for name, t in tensors.items()}
