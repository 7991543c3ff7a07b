"""Population models with weights that training does not change, for the engine as it is.

- ``WithFrozenWeights``: a model whose pruned weights are frozen at given values instead of 0 (Zhou et al.'s
  mask-0 actions). The frozen values ride along as buffers (``frozen:<name>``, zero where a weight is kept)
  and are added to the trained, masked weights in the forward pass: a pruned position's weight is its frozen
  value, a kept one trains as usual.
- ``Supermask``: a model that trains only a mask over fixed weights (Zhou et al.'s learned supermask). Its
  trainable parameters are one score per weight (``<name>`` itself); the fixed weights and every other
  parameter are buffers (``fixed:<name>``). The forward pass uses the weights where score > 0 (a hard
  threshold, so training and evaluation see the same network) and passes the gradient straight through the
  sigmoid of the score, deterministically: a member's training depends on its own scores and batches only.

Both wrap any population model (``PopulationMLP``, the conv nets) and keep its names, so masks, pruning and
evaluation treat them like the model they wrap.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

FROZEN, FIXED = "frozen:", "fixed:"


@dataclass(frozen=True)
class WithFrozenWeights:
    """``base`` with the weights ``names`` at ``frozen:<name>`` wherever they are pruned."""
    base: Any
    names: tuple[str, ...]

    @property
    def buffer_names(self) -> list[str]:
        """The base's buffers and the frozen values (the optimizer leaves both alone)."""
        return list(getattr(self.base, "buffer_names", ())) + [FROZEN + n for n in self.names]

    @property
    def eval_chunk(self) -> int:
        """As the base model evaluates."""
        return getattr(self.base, "eval_chunk", 10000)

    def with_frozen(self, params: dict[str, torch.Tensor], frozen: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``params`` (the base's) plus the frozen values of every named weight."""
        return {**params, **{FROZEN + n: frozen[n] for n in self.names}}

    def forward(self, params: dict[str, torch.Tensor], x: torch.Tensor, training: bool = False,
                grad_masks: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """The base's forward pass with each named weight plus its frozen values."""
        effective = {n: p for n, p in params.items() if not n.startswith(FROZEN)}
        for name in self.names:
            effective[name] = params[name] + params[FROZEN + name]
        return self.base.forward(effective, x, training=training, grad_masks=grad_masks)


class _ThresholdStraightThrough(torch.autograd.Function):
    """1[score > 0] forward; d sigmoid(score) / d score backward (the straight-through estimator)."""

    @staticmethod
    def forward(ctx, score: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(score)
        return (score > 0).to(score.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (score,) = ctx.saved_tensors
        sig = torch.sigmoid(score)
        return grad * sig * (1 - sig)


def supermask_of(scores: torch.Tensor) -> torch.Tensor:
    """The mask a score tensor stands for (score > 0), as a bool tensor."""
    return scores > 0


@dataclass(frozen=True)
class Supermask:
    """``base`` with fixed weights and a trainable mask over the weights ``names`` (scores as parameters)."""
    base: Any
    names: tuple[str, ...]

    @property
    def buffer_names(self) -> list[str]:
        """Every parameter of the base (weights and biases stay fixed); only the scores train."""
        return [FIXED + n for n in self.base.shapes()]

    @property
    def eval_chunk(self) -> int:
        """As the base model evaluates."""
        return getattr(self.base, "eval_chunk", 10000)

    def params(self, fixed: dict[str, torch.Tensor], scores: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The population's parameters: the scores of the named weights and every base parameter, fixed."""
        return {**{n: scores[n] for n in self.names}, **{FIXED + n: p for n, p in fixed.items()}}

    def forward(self, params: dict[str, torch.Tensor], x: torch.Tensor, training: bool = False,
                grad_masks: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """The base's forward pass with each named weight masked by its scores (score > 0)."""
        effective = {n[len(FIXED):]: p for n, p in params.items() if n.startswith(FIXED)}
        for name in self.names:
            effective[name] = effective[name] * _ThresholdStraightThrough.apply(params[name])
        return self.base.forward(effective, x, training=training)
