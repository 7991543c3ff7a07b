"""Which weights a ticket keeps: the scores that decide a mask.

Two families, both "higher score = kept":

- **Mask criteria** (Zhou et al. 2019, "Deconstructing Lottery Tickets"): a score from a weight's initial
  value ``w_i`` and its value after training ``w_f``; a ticket keeps each layer's highest-scoring weights at
  that layer's pruning rate. ``large_final`` is the LTH's.
- **Importance values** (Vandersmissen & Oramas, "Considering Layerwise Importance in the LTH"): a score from
  a weight and the other surviving weights of its layer, pooled over all layers for global pruning.
  ``magnitude`` (plain |w|, pooled globally) is the seed's baseline.

Every function acts on stacked tensors ``[K, ...]`` (one row per population member) and on each member
independently.
"""
from __future__ import annotations

from typing import Callable

import torch

Tensor = torch.Tensor


# ------------------------------------------------------------------------------------ Zhou et al.'s criteria
def large_final(w_i: Tensor, w_f: Tensor, noise: Tensor) -> Tensor:
    """|w_f|: the LTH's criterion."""
    return w_f.abs()


def small_final(w_i: Tensor, w_f: Tensor, noise: Tensor) -> Tensor:
    """-|w_f|: the weights that ended smallest."""
    return -w_f.abs()


def large_init(w_i: Tensor, w_f: Tensor, noise: Tensor) -> Tensor:
    """|w_i|: the weights that started largest (needs no training)."""
    return w_i.abs()


def small_init(w_i: Tensor, w_f: Tensor, noise: Tensor) -> Tensor:
    """-|w_i|: the weights that started smallest."""
    return -w_i.abs()


def large_init_large_final(w_i: Tensor, w_f: Tensor, noise: Tensor) -> Tensor:
    """min(|w_i|, |w_f|): large both before and after training."""
    return torch.minimum(w_i.abs(), w_f.abs())


def small_init_small_final(w_i: Tensor, w_f: Tensor, noise: Tensor) -> Tensor:
    """-max(|w_i|, |w_f|): small both before and after training."""
    return -torch.maximum(w_i.abs(), w_f.abs())


def magnitude_increase(w_i: Tensor, w_f: Tensor, noise: Tensor) -> Tensor:
    """|w_f| - |w_i|: the weights that grew most during training."""
    return w_f.abs() - w_i.abs()


def movement(w_i: Tensor, w_f: Tensor, noise: Tensor) -> Tensor:
    """|w_f - w_i|: the weights that moved most."""
    return (w_f - w_i).abs()


def random_criterion(w_i: Tensor, w_f: Tensor, noise: Tensor) -> Tensor:
    """Uniform noise: a random mask with the same per-layer counts (the criteria's floor)."""
    return noise


def large_final_same_sign(w_i: Tensor, w_f: Tensor, noise: Tensor) -> Tensor:
    """|w_f| for weights whose sign training kept, -|w_f| for the others: the largest final weights among
    those that kept their initial sign (Zhou et al.'s supermask criterion)."""
    same = torch.sign(w_i) == torch.sign(w_f)
    return torch.where(same, w_f.abs(), -w_f.abs())


MaskCriterion = Callable[[Tensor, Tensor, Tensor], Tensor]

MASK_CRITERIA: dict[str, MaskCriterion] = {
    "large_final": large_final, "small_final": small_final, "large_init": large_init, "small_init": small_init,
    "large_init_large_final": large_init_large_final, "small_init_small_final": small_init_small_final,
    "magnitude_increase": magnitude_increase, "movement": movement, "random": random_criterion,
    "large_final_same_sign": large_final_same_sign,
}


def criterion_scores(criterion: str, init: dict[str, Tensor], final: dict[str, Tensor], names: list[str],
                     seeds: list[int]) -> dict[str, Tensor]:
    """Each named layer's scores under ``criterion`` (noise for ``random`` drawn from member k's ``seeds[k]``
    alone: one generator per member, drawn layer after layer in ``names`` order)."""
    if criterion not in MASK_CRITERIA:
        raise ValueError(f"unknown mask criterion {criterion!r}; allowed: {', '.join(MASK_CRITERIA)}")
    generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
    out = {}
    for name in names:
        noise = torch.stack([torch.rand(init[name].shape[1:], generator=g) for g in generators]).to(init[name])
        out[name] = MASK_CRITERIA[criterion](init[name], final[name], noise)
    return out


def ranks(scores: Tensor) -> Tensor:
    """Each entry's rank within its member's row (0 = lowest; ties by position), as float [K, ...]: an order
    that pruning by magnitude reproduces exactly (a rank is its own magnitude)."""
    flat = scores.flatten(1)
    order = torch.argsort(flat, dim=1, stable=True)
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(flat.shape[1], device=flat.device).expand_as(order))
    return rank.to(torch.float64).view_as(scores)


# ------------------------------------------------------------------------- layerwise importance (seed 003)
def _alive_stats(weight: Tensor, alive: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per member: number of surviving weights, their mean |w| and their standard deviation (as [K, 1, ...])."""
    dims = tuple(range(1, weight.dim()))
    shape = (-1,) + (1,) * (weight.dim() - 1)
    a = alive.to(weight.dtype)
    count = a.sum(dims).clamp(min=1)
    mean_abs = (weight.abs() * a).sum(dims) / count
    mean = (weight * a).sum(dims) / count
    var = (((weight - mean.view(shape)) ** 2) * a).sum(dims) / count
    return count.view(shape), mean_abs.view(shape), var.sqrt().view(shape)


def magnitude(weight: Tensor, alive: Tensor) -> Tensor:
    """|w| (pooled over layers: global magnitude pruning, the seed's baseline)."""
    return weight.abs()


def layerwise(weight: Tensor, alive: Tensor) -> Tensor:
    """|w|'s percentile among its layer's surviving weights (rank / count, in (0, 1]): pooled globally it
    prunes the same fraction of every layer, i.e. layerwise magnitude pruning at one rate."""
    count, _, _ = _alive_stats(weight, alive)
    masked = torch.where(alive, weight.abs(), torch.full_like(weight, -1.0))
    below = ranks(masked) - (~alive).flatten(1).sum(1).view(count.shape).to(torch.float64)
    return ((below + 1) / count.to(torch.float64)).to(weight.dtype)


def mean_normalized(weight: Tensor, alive: Tensor) -> Tensor:
    """|w| / the mean |w| of its layer's surviving weights."""
    _, mean_abs, _ = _alive_stats(weight, alive)
    return weight.abs() / mean_abs.clamp(min=torch.finfo(weight.dtype).tiny)


def std_normalized(weight: Tensor, alive: Tensor) -> Tensor:
    """|w| / the standard deviation of its layer's surviving weights."""
    _, _, std = _alive_stats(weight, alive)
    return weight.abs() / std.clamp(min=torch.finfo(weight.dtype).tiny)


def l1_normalized(weight: Tensor, alive: Tensor) -> Tensor:
    """|w| / the sum of |w| over its layer's surviving weights: the mean-normalised value divided by the
    layer's size, so that a weight of a small layer counts for more."""
    count, mean_abs, _ = _alive_stats(weight, alive)
    return weight.abs() / (mean_abs * count).clamp(min=torch.finfo(weight.dtype).tiny)


ImportanceValue = Callable[[Tensor, Tensor], Tensor]

IMPORTANCE_VALUES: dict[str, ImportanceValue] = {
    "magnitude": magnitude, "layerwise": layerwise, "mean_normalized": mean_normalized,
    "std_normalized": std_normalized, "l1_normalized": l1_normalized,
}


def importance_scores(metric: str, weights: dict[str, Tensor], masks: dict[str, Tensor],
                      names: list[str]) -> dict[str, Tensor]:
    """Each named layer's importance values under ``metric`` (computed from that layer's surviving weights)."""
    if metric not in IMPORTANCE_VALUES:
        raise ValueError(f"unknown importance value {metric!r}; allowed: {', '.join(IMPORTANCE_VALUES)}")
    return {name: IMPORTANCE_VALUES[metric](weights[name], masks[name]) for name in names}


def mask_iou(a: dict[str, Tensor], b: dict[str, Tensor], names: list[str]) -> Tensor:
    """Intersection over union of the surviving weights of masks ``a`` and ``b`` over ``names``, per member [K]."""
    inter = sum((a[n] & b[n]).flatten(1).sum(1) for n in names)
    union = sum((a[n] | b[n]).flatten(1).sum(1) for n in names)
    return inter.double() / union.clamp(min=1).double()
