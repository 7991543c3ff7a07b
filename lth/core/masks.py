"""Masks and pruning maths for populations.

A mask is a ``dict[name, BoolTensor[K, ...]]`` over some of a population's parameters (absent names are
dense). Every function here acts on each member independently: member k's new mask depends only on member
k's scores and mask.
"""
from __future__ import annotations

import torch

Masks = dict[str, torch.Tensor]


def dense_masks(params: dict[str, torch.Tensor], names: list[str]) -> Masks:
    """All-ones masks for the named parameters."""
    return {name: torch.ones_like(params[name], dtype=torch.bool) for name in names}


def apply_masks(params: dict[str, torch.Tensor], masks: Masks) -> None:
    """Zero the pruned entries of ``params`` in place."""
    with torch.no_grad():
        for name, mask in masks.items():
            params[name].mul_(mask)


def prune_lowest(scores: torch.Tensor, alive: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """Remove, in each row of ``scores`` [K, n], the ``count[k]`` alive entries with the lowest score.

    Ties are broken by position (stable sort), so the result is deterministic.
    Returns the new alive mask [K, n].
    """
    ranked = torch.where(alive, scores, torch.full_like(scores, float("inf")))
    order = torch.argsort(ranked, dim=1, stable=True)
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(order.shape[1], device=order.device).expand_as(order))
    return alive & (rank >= count.unsqueeze(1))


def prune_by_rate(scores: dict[str, torch.Tensor], masks: Masks, rates: dict[str, float]) -> Masks:
    """Layerwise pruning: remove ``round(rate * alive)`` of each layer's surviving weights by lowest score.

    With rate p per round, round r keeps (1-p)^r of the layer (up to rounding).
    """
    new = {}
    for name, mask in masks.items():
        rate = rates.get(name, 0.0)
        if rate == 0.0:
            new[name] = mask.clone()
            continue
        flat_mask = mask.flatten(1)
        count = torch.round(flat_mask.sum(1) * rate).long()
        new[name] = prune_lowest(scores[name].flatten(1), flat_mask, count).view_as(mask)
    return new


def prune_global(scores: dict[str, torch.Tensor], masks: Masks, names: list[str], rate: float) -> Masks:
    """Global pruning: remove ``round(rate * alive)`` of the surviving weights pooled over ``names``."""
    flat_scores = torch.cat([scores[n].flatten(1) for n in names], dim=1)
    flat_masks = torch.cat([masks[n].flatten(1) for n in names], dim=1)
    count = torch.round(flat_masks.sum(1) * rate).long()
    kept = prune_lowest(flat_scores, flat_masks, count)
    new = {name: mask.clone() for name, mask in masks.items()}
    offset = 0
    for name in names:
        size = masks[name][0].numel()
        new[name] = kept[:, offset:offset + size].view_as(masks[name])
        offset += size
    return new


def remaining_fraction(masks: Masks, names: list[str] | None = None) -> torch.Tensor:
    """Fraction of weights remaining per member [K] (Pm), over ``names`` or all masked parameters."""
    names = names or list(masks)
    alive = sum(masks[n].flatten(1).sum(1) for n in names)
    total = sum(masks[n][0].numel() for n in names)
    return alive.double() / total


# ------------------------------------------------------------------------------------------ unit pruning
def unit_masks_for_mlp(alive_units: torch.Tensor, layer: int = 0) -> Masks:
    """Weight masks that remove hidden units of layer ``layer`` of a PopulationMLP.

    ``alive_units`` [K, H]: a removed unit loses its incoming weights, its bias and its outgoing weights.
    """
    return {f"fc{layer}.weight": alive_units.unsqueeze(2),
            f"fc{layer}.bias": alive_units.clone(),
            f"fc{layer + 1}.weight": alive_units.unsqueeze(1)}


def unit_scores(params: dict[str, torch.Tensor], heuristic: str, layer: int = 0) -> torch.Tensor:
    """Importance [K, H] of the hidden units of layer ``layer`` (the XOR experiment's heuristics).

    input_magnitude: mean |incoming weight|; output_magnitude: sum |outgoing weight|;
    product: sum |outgoing| x sum |incoming| (the first paper version's default).
    """
    incoming = params[f"fc{layer}.weight"].abs()          # [K, H, in]
    outgoing = params[f"fc{layer + 1}.weight"].abs()      # [K, out, H]
    if heuristic == "input_magnitude":
        return incoming.mean(2)
    if heuristic == "output_magnitude":
        return outgoing.sum(1)
    if heuristic == "product":
        return outgoing.sum(1) * incoming.sum(2)
    raise ValueError(f"unknown unit heuristic {heuristic!r}; allowed: input_magnitude, output_magnitude, product")


def keep_top_units(scores: torch.Tensor, alive: torch.Tensor, keep: int) -> torch.Tensor:
    """Alive-unit mask [K, H] keeping the ``keep`` highest-scoring alive units of each member."""
    count = alive.sum(1) - keep
    if (count < 0).any():
        raise ValueError(f"cannot keep {keep} units: some members have only {int(alive.sum(1).min())} alive")
    return prune_lowest(scores, alive, count)
