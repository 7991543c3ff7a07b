"""Channel pruning by batch-norm scales (network slimming), as You et al.'s early-bird tickets draw it.

- ``SlimmingPenalty``: a model wrapper that adds the L1 penalty's subgradient ``l1 * sign(gamma)`` to the
  gradient of every batch-norm scale during training (network slimming's sparsity term), so the engine
  trains it like any other model.
- ``channel_masks``: a global threshold on |gamma| over every batch-norm layer, pruning a fraction of all
  channels; ``mask_distance``, ``distance_matrix`` and ``early_bird_epoch``: the normalised Hamming distance
  between channel masks and the early-bird rule (the latest mask within epsilon of each of the previous
  ones).
- ``weight_masks_from_channels``: the weight masks that remove the pruned channels of a VGG (the channel's
  filters, its batch-norm scale and shift, and the next layer's inputs from it), and ``vgg_training_flops``:
  the FLOPs of a training step of the channel-pruned net, counted from its surviving channels.

Stacked tensors ``[K, ...]`` (one row per member); every function treats each member on its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from lth.core.convnets import CONV_PLANS
from lth.core.masks import prune_lowest


class _L1Subgradient(torch.autograd.Function):
    """Identity forward; backward adds ``l1 * sign(gamma)`` to the incoming gradient."""

    @staticmethod
    def forward(ctx, gamma: torch.Tensor, l1: float) -> torch.Tensor:
        ctx.save_for_backward(gamma)
        ctx.l1 = l1
        return gamma.view_as(gamma)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (gamma,) = ctx.saved_tensors
        return grad + ctx.l1 * torch.sign(gamma), None


@dataclass(frozen=True)
class SlimmingPenalty:
    """``base`` whose batch-norm scales ``names`` get the L1 penalty ``l1 * sum |gamma|`` while training."""
    base: Any
    names: tuple[str, ...]
    l1: float

    @property
    def buffer_names(self) -> list[str]:
        """As the base model (its batch-norm running statistics)."""
        return list(getattr(self.base, "buffer_names", ()))

    @property
    def eval_chunk(self) -> int:
        """As the base model evaluates."""
        return getattr(self.base, "eval_chunk", 10000)

    def forward(self, params: dict[str, torch.Tensor], x: torch.Tensor, training: bool = False,
                grad_masks: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """The base's forward pass; in training, each scale passes through the penalty's subgradient."""
        if training and self.l1:
            params = {**params, **{n: _L1Subgradient.apply(params[n], self.l1) for n in self.names}}
        return self.base.forward(params, x, training=training, grad_masks=grad_masks)


def bn_scales(model: Any) -> list[str]:
    """The batch-norm scale (gamma) of every conv layer of a VGG population model, in forward order."""
    return [n for n in model.shapes() if n.startswith("bn") and n.endswith(".weight")]


def channel_masks(gammas: dict[str, torch.Tensor], ratio: float) -> dict[str, torch.Tensor]:
    """Keep-masks [K, C] per layer pruning ``round(ratio * all channels)`` with the smallest |gamma| over all
    layers pooled (one global threshold; ties by position)."""
    names = list(gammas)
    flat = torch.cat([gammas[n].abs() for n in names], dim=1)
    count = torch.full((flat.shape[0],), round(ratio * flat.shape[1]), dtype=torch.long, device=flat.device)
    kept = prune_lowest(flat, torch.ones_like(flat, dtype=torch.bool), count)
    out, offset = {}, 0
    for name in names:
        size = gammas[name].shape[1]
        out[name] = kept[:, offset:offset + size]
        offset += size
    return out


def mask_distance(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> torch.Tensor:
    """Normalised Hamming distance [K]: the fraction of all entries of ``a``'s masks (channels, or weights)
    kept by one mask and not the other."""
    differ = sum((a[n] != b[n]).flatten(1).sum(1) for n in a)
    total = sum(a[n][0].numel() for n in a)
    return differ.double() / total


def distance_matrix(masks: list[dict[str, torch.Tensor]]) -> torch.Tensor:
    """[K, E, E]: the distance between the masks of every pair of epochs, per member."""
    E = len(masks)
    out = torch.zeros(next(iter(masks[0].values())).shape[0], E, E, dtype=torch.float64)
    for i in range(E):
        for j in range(i + 1, E):
            out[:, i, j] = out[:, j, i] = mask_distance(masks[i], masks[j])
    return out


def is_early_bird(masks: list[dict[str, torch.Tensor]], epsilon: float, window: int) -> torch.Tensor:
    """Per member [K]: whether the latest of ``masks`` (one per epoch so far) is within ``epsilon`` of each of
    the ``window - 1`` masks before it (False while fewer epochs have passed)."""
    members = next(iter(masks[-1].values())).shape[0]
    if len(masks) < window:
        return torch.zeros(members, dtype=torch.bool)
    return torch.stack([mask_distance(masks[-1], earlier) < epsilon for earlier in masks[-window:-1]]).all(0).cpu()


def early_bird_epoch(masks: list[dict[str, torch.Tensor]], epsilon: float, window: int) -> list[int | None]:
    """Per member: the first epoch (0-based index into ``masks``, one per epoch) at which ``is_early_bird``
    holds; None if it never does."""
    members = next(iter(masks[0].values())).shape[0]
    out: list[int | None] = [None] * members
    for e in range(len(masks)):
        for k in is_early_bird(masks[:e + 1], epsilon, window).nonzero().flatten().tolist():
            out[k] = e if out[k] is None else out[k]
    return out


def weight_masks_from_channels(model: Any, channels: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Masks that remove the pruned channels of a VGG: each pruned channel's conv filter, batch-norm scale
    and shift, and every weight of the next layer (conv or fc) reading from it. ``channels`` maps the
    batch-norm scale names (``bn<i>.weight``) to keep-masks [K, C_i]. The engine zeroes the masked scale and
    shift once and the batch norm does not mask their gradients: they stay 0 because a pruned channel's conv
    output is exactly 0 (no scale gradient) and nothing downstream reads it (no shift gradient)."""
    shapes = model.shapes()
    convs = [n for n in shapes if n.startswith("conv") and n.endswith(".weight")]
    out: dict[str, torch.Tensor] = {}
    previous = None
    for i, conv in enumerate(convs):
        keep = channels[f"bn{i}.weight"]                          # [K, out]
        rows = keep[:, :, None, None, None]
        mask = rows.expand(-1, -1, *shapes[conv][0][1:])
        if previous is not None:
            mask = mask & previous[:, None, :, None, None]
        out[conv] = mask.contiguous()
        out[f"bn{i}.weight"] = keep.clone()
        out[f"bn{i}.bias"] = keep.clone()
        previous = keep
    fc = shapes["fc0.weight"][0]
    out["fc0.weight"] = previous[:, None, :].expand(-1, fc[0], -1).contiguous()
    return out


def vgg_training_flops(model: Any, channels: dict[str, torch.Tensor] | None, batch: int) -> torch.Tensor:
    """FLOPs [K] of one training step (forward + backward = 3 forward passes, 2 FLOPs per multiply-add) of
    every member's channel-pruned VGG at this batch size, counted from its surviving channels (all of them
    with ``channels`` None). Convolutions and the fc layer; batch norm, pooling and ReLU are left out."""
    shapes = model.shapes()
    convs = [n for n in shapes if n.startswith("conv") and n.endswith(".weight")]
    members = next(iter(channels.values())).shape[0] if channels else 1
    size, index, inputs = model.image_size, 0, torch.full((members,), float(model.in_channels), dtype=torch.float64)
    macs = torch.zeros(members, dtype=torch.float64)
    for item in CONV_PLANS[model.arch]:
        if item == "M":
            size //= 2
            continue
        out = shapes[convs[index]][0][0]
        alive = (channels[f"bn{index}.weight"].sum(1).double() if channels else
                 torch.full((members,), float(out), dtype=torch.float64))
        macs += size * size * 9 * inputs * alive
        inputs, index = alive, index + 1
    macs += inputs * shapes["fc0.weight"][0][0]
    return 3 * 2 * macs * batch
