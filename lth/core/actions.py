"""What values a pruned network starts from (Zhou et al. 2019, "Deconstructing Lottery Tickets").

- **Mask-1 actions** give the kept weights their starting values: ``rewind`` (their initial values, the
  LTH's), a fresh draw (``reinit``), the layer's kept initial values shuffled among the kept positions
  (``reshuffle``) or a constant alpha, the layer's initial standard deviation (``constant``); each of the last
  three with random signs and, ``*_init_sign``, with the signs of the initial values at those positions.
- **Mask-0 actions** decide the pruned weights: ``zero`` (the LTH's), ``freeze_init`` (kept at their initial
  values, never trained) and ``freeze_moved_away`` (zero where training moved the weight toward zero,
  |w_f| < |w_i|, frozen at its initial value elsewhere). They are returned as the frozen values of the pruned
  positions (zero where kept), which ``lth.core.frozen.WithFrozenWeights`` adds to the trained weights.

Every function takes one layer of a population, stacked ``[K, ...]``, and treats each member on its own;
randomness comes from member k's ``seeds[k]`` alone.
"""
from __future__ import annotations

from typing import Callable

import torch

Tensor = torch.Tensor


def _generators(seeds: list[int]) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(int(s)) for s in seeds]


def random_signs(like: Tensor, seeds: list[int]) -> Tensor:
    """+-1 with equal probability, member k's from ``seeds[k]``."""
    signs = torch.stack([torch.randint(0, 2, like.shape[1:], generator=g) for g in _generators(seeds)])
    return (signs * 2 - 1).to(like)


def layer_init_std(init: Tensor) -> Tensor:
    """Each member's standard deviation of the layer's initial weights, shaped [K, 1, ...] (alpha)."""
    flat = init.flatten(1)
    return flat.std(1, unbiased=False).view(-1, *([1] * (init.dim() - 1)))


def sign_of_init(init: Tensor) -> Tensor:
    """sign(w_i) with 0 read as +1 (a constant must not vanish where an initial weight is exactly 0)."""
    return torch.where(init < 0, -torch.ones_like(init), torch.ones_like(init))


# ------------------------------------------------------------------------------------------- mask-1 actions
def rewind(init: Tensor, mask: Tensor, fresh: Tensor, seeds: list[int]) -> Tensor:
    """The initial values (the LTH's)."""
    return init.clone()


def reinit(init: Tensor, mask: Tensor, fresh: Tensor, seeds: list[int]) -> Tensor:
    """A fresh draw from the init distribution (random signs)."""
    return fresh.clone()


def reinit_init_sign(init: Tensor, mask: Tensor, fresh: Tensor, seeds: list[int]) -> Tensor:
    """A fresh draw's magnitudes with the initial values' signs."""
    return fresh.abs() * sign_of_init(init)


def reshuffle(init: Tensor, mask: Tensor, fresh: Tensor, seeds: list[int]) -> Tensor:
    """The layer's kept initial values, permuted at random among its kept positions (values and their
    signs move together, so signs are random with respect to position)."""
    out = init.clone()
    flat_out, flat_init, flat_mask = out.view(out.shape[0], -1), init.flatten(1), mask.flatten(1)
    for k, generator in enumerate(_generators(seeds)):
        kept = flat_mask[k].nonzero().flatten()
        order = torch.randperm(kept.numel(), generator=generator).to(kept.device)
        flat_out[k, kept] = flat_init[k, kept[order]]
    return out


def reshuffle_init_sign(init: Tensor, mask: Tensor, fresh: Tensor, seeds: list[int]) -> Tensor:
    """``reshuffle``'s magnitudes with the initial values' signs at each position."""
    return reshuffle(init, mask, fresh, seeds).abs() * sign_of_init(init)


def constant(init: Tensor, mask: Tensor, fresh: Tensor, seeds: list[int]) -> Tensor:
    """+-alpha (alpha = the layer's initial standard deviation) with random signs."""
    return layer_init_std(init) * random_signs(init, seeds)


def constant_init_sign(init: Tensor, mask: Tensor, fresh: Tensor, seeds: list[int]) -> Tensor:
    """+-alpha with the initial values' signs (the "signed constant")."""
    return layer_init_std(init) * sign_of_init(init)


MaskOneAction = Callable[[Tensor, Tensor, Tensor, list[int]], Tensor]

MASK1_ACTIONS: dict[str, MaskOneAction] = {
    "rewind": rewind, "reinit": reinit, "reinit_init_sign": reinit_init_sign, "reshuffle": reshuffle,
    "reshuffle_init_sign": reshuffle_init_sign, "constant": constant, "constant_init_sign": constant_init_sign,
}


# ------------------------------------------------------------------------------------------- mask-0 actions
def zero(init: Tensor, final: Tensor, mask: Tensor) -> Tensor:
    """Pruned weights are 0 (the LTH's): nothing frozen."""
    return torch.zeros_like(init)


def freeze_init(init: Tensor, final: Tensor, mask: Tensor) -> Tensor:
    """Pruned weights keep their initial values and are never trained."""
    return torch.where(mask, torch.zeros_like(init), init)


def freeze_moved_away(init: Tensor, final: Tensor, mask: Tensor) -> Tensor:
    """Pruned weights that training moved toward zero (|w_f| < |w_i|) are 0; the others are frozen at their
    initial values."""
    toward_zero = final.abs() < init.abs()
    return torch.where(mask | toward_zero, torch.zeros_like(init), init)


MaskZeroAction = Callable[[Tensor, Tensor, Tensor], Tensor]

MASK0_ACTIONS: dict[str, MaskZeroAction] = {"zero": zero, "freeze_init": freeze_init,
                                            "freeze_moved_away": freeze_moved_away}


def start_values(action: str, init: dict[str, Tensor], masks: dict[str, Tensor], fresh: dict[str, Tensor],
                 seeds: list[int], names: list[str]) -> dict[str, Tensor]:
    """The starting parameters of pruned networks: every named layer's kept weights from mask-1 ``action``
    (pruned entries 0), every other parameter (biases) as in ``init``."""
    if action not in MASK1_ACTIONS:
        raise ValueError(f"unknown mask-1 action {action!r}; allowed: {', '.join(MASK1_ACTIONS)}")
    out = {n: p.clone() for n, p in init.items()}
    for i, name in enumerate(names):
        layer_seeds = [int(s) * 1_000_003 + i for s in seeds]
        values = MASK1_ACTIONS[action](init[name], masks[name], fresh[name], layer_seeds)
        out[name] = values * masks[name]
    return out


def frozen_values(action: str, init: dict[str, Tensor], final: dict[str, Tensor], masks: dict[str, Tensor],
                  names: list[str]) -> dict[str, Tensor]:
    """The frozen values of every named layer's pruned weights under mask-0 ``action`` (0 where kept)."""
    if action not in MASK0_ACTIONS:
        raise ValueError(f"unknown mask-0 action {action!r}; allowed: {', '.join(MASK0_ACTIONS)}")
    return {name: MASK0_ACTIONS[action](init[name], final[name], masks[name]) for name in names}
