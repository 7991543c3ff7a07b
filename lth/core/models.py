"""Population models: K same-shaped networks held as stacked tensors with a leading member axis.

A population model is stateless: parameters live in a ``dict[name, Tensor[K, ...]]`` so that the engine,
masks and pruning code treat every architecture alike. ``forward(params, x)`` maps a batch shared by all
members (``[B, ...]``) or one batch per member (``[K, B, ...]``) to logits ``[K, B, outputs]``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from lth.core import cpu_fastpath, sparse_products

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}


def sample_weight(shape: tuple[int, ...], init: str, generator: torch.Generator, std: float = 0.1,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """One layer's initial weights ([out, in, ...]) from the named distribution.

    ``glorot_normal`` (Gaussian Glorot, the final paper's default) has std sqrt(2 / (fan_in + fan_out));
    ``normal`` is N(0, std) (the first paper version used std 0.1).
    """
    fan_out, fan_in = shape[0], int(math.prod(shape[1:]))
    receptive = int(math.prod(shape[2:])) if len(shape) > 2 else 1
    fan_out *= receptive
    if init == "normal":
        return torch.randn(shape, generator=generator, dtype=dtype) * std
    if init == "glorot_normal":
        return torch.randn(shape, generator=generator, dtype=dtype) * math.sqrt(2.0 / (fan_in + fan_out))
    if init == "glorot_uniform":
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        return (torch.rand(shape, generator=generator, dtype=dtype) * 2 - 1) * bound
    raise ValueError(f"unknown init {init!r}; allowed: normal, glorot_normal, glorot_uniform")


def init_from_shapes(shapes: dict[str, tuple[tuple[int, ...], str]], seeds: list[int], init: str, std: float,
                     dtype: torch.dtype, device: torch.device | str) -> dict[str, torch.Tensor]:
    """Stacked initial parameters, one member per seed, drawn in ``shapes`` order from that seed alone:
    kind ``weight`` from ``init``, ``bn_weight`` and ``var`` ones, everything else (biases, means) zeros."""
    members = []
    for seed in seeds:
        generator = torch.Generator().manual_seed(int(seed))
        member = {}
        for name, (shape, kind) in shapes.items():
            if kind == "weight":
                member[name] = sample_weight(shape, init, generator, std, dtype)
            elif kind in ("bn_weight", "var"):
                member[name] = torch.ones(shape, dtype=dtype)
            else:
                member[name] = torch.zeros(shape, dtype=dtype)
        members.append(member)
    return {name: torch.stack([m[name] for m in members]).to(device) for name in shapes}


@dataclass(frozen=True)
class PopulationMLP:
    """A fully connected net (e.g. XOR 2-H-1, LeNet-300-100 784-300-100-10) for a population of members.

    Parameters are named ``fc{i}.weight`` ([K, out, in]) and ``fc{i}.bias`` ([K, out]).
    """
    sizes: tuple[int, ...]
    activation: str = "relu"
    # Examples per forward pass when evaluating on a CPU (``engine.forward_in_row_blocks``): each example's logits
    # are the same bits in any block, and a block's [K, rows, width] activations stay near the cache.
    forward_rows = 500

    @property
    def layer_names(self) -> list[str]:
        """Weight names in forward order (what magnitude pruning acts on)."""
        return [f"fc{i}.weight" for i in range(len(self.sizes) - 1)]

    def shapes(self) -> dict[str, tuple[tuple[int, ...], str]]:
        """name -> (per-member shape, kind): ``fc{i}.weight`` [out, in] and ``fc{i}.bias`` [out]."""
        shapes: dict[str, tuple[tuple[int, ...], str]] = {}
        for i, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            shapes[f"fc{i}.weight"] = ((fan_out, fan_in), "weight")
            shapes[f"fc{i}.bias"] = ((fan_out,), "bias")
        return shapes

    def init_params(self, seeds: list[int], init: str = "glorot_normal", std: float = 0.1,
                    dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """Initial parameters of one member per seed (each member's init depends only on its own seed)."""
        return init_from_shapes(self.shapes(), seeds, init, std, dtype, device)

    def forward(self, params: dict[str, torch.Tensor], x: torch.Tensor, training: bool = False,
                grad_masks: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Logits [K, B, out] for inputs [B, in] (shared by all members) or [K, B, in] (one batch each);
        ``grad_masks[name]`` multiplies that weight's gradient in the backward pass."""
        act = ACTIVATIONS[self.activation]
        grad_masks = grad_masks or {}
        h = x
        layers = len(self.sizes) - 1
        for i in range(layers):
            name = f"fc{i}.weight"
            h = population_linear(h, params[name], params[f"fc{i}.bias"], grad_masks.get(name))
            if i < layers - 1:
                h = act(h)
        return h


def population_linear(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                      grad_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Each member's affine layer: [B, in] (shared by all members) or [K, B, in] -> [K, B, out].

    ``grad_mask`` ([K, out, in], the weights' dtype) multiplies the weight gradient as it is computed
    (pruned weights get exactly zero gradient). On a CPU, an optimizer update registered for ``weight``
    (``cpu_fastpath.updates_in_backward``) takes the masked gradient during the backward pass, and the
    weight then gets no ``.grad``; where the input needs no gradient, the members of a sparse layout
    registered for ``weight`` (``sparse_products.registered``) take sparse products."""
    return PopulationLinear.apply(h, weight, bias, grad_mask, cpu_fastpath.update_for(weight),
                                  sparse_products.layout_for(weight))


class PopulationLinear(torch.autograd.Function):
    """K affine layers with the backward pass written out, because the layout matters on a CPU.

    For a batch shared by all members the forward is a batched product over the broadcast batch (faster on
    a CPU than one [B, in] x [in, K*out] product; bench/README.md).
    The weight gradient is produced directly in the weights' [K, out, in] layout (autograd's formula
    hands back a transposed view that then has to be copied) and masked block by block while in cache.
    """

    @staticmethod
    def forward(ctx, h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                grad_mask: torch.Tensor | None, update: cpu_fastpath.MemberUpdate | None,
                layout: sparse_products.SparseLayout | None = None) -> torch.Tensor:
        ctx.save_for_backward(h, weight, grad_mask)
        ctx.has_bias = bias is not None
        ctx.update = update
        ctx.layout = layout if sparse_products.applies(layout, h, weight) and not ctx.needs_input_grad[0] else None
        if ctx.layout is not None:
            return sparse_products.forward(h, weight, bias, ctx.layout)
        batch = h.expand(weight.shape[0], *h.shape) if h.dim() == 2 else h
        if bias is None:
            return torch.bmm(batch, weight.transpose(1, 2))
        return torch.baddbmm(bias.unsqueeze(1), batch, weight.transpose(1, 2))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        h, weight, grad_mask = ctx.saved_tensors
        grad_h = grad_weight = grad_bias = None
        # Under autocast the forward ran in a lower precision: compute in the gradient's dtype, as
        # autograd's own formulas would, and hand each input its own dtype back.
        compute = grad.dtype
        # The input gradient first: an update in the weight gradient below changes the weight in place.
        if ctx.needs_input_grad[0]:
            grad_h = torch.bmm(grad, weight.to(compute))
            grad_h = (grad_h.sum(0) if h.dim() == 2 else grad_h).to(h.dtype)
        if ctx.needs_input_grad[1] and ctx.layout is not None:
            grad_weight = sparse_products.weight_gradient(grad, h, grad_mask, ctx.layout, ctx.update)
        elif ctx.needs_input_grad[1]:
            inputs = h.to(compute)
            inputs = inputs.expand(weight.shape[0], *h.shape) if h.dim() == 2 else inputs
            grad_weight = masked_weight_gradient(grad, inputs, grad_mask, weight.dtype, ctx.update)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = grad.sum(1).to(weight.dtype)
        return grad_h, grad_weight, grad_bias, None, None, None


def masked_weight_gradient(grad: torch.Tensor, inputs: torch.Tensor, mask: torch.Tensor | None,
                           dtype: torch.dtype, update: cpu_fastpath.MemberUpdate | None = None
                           ) -> torch.Tensor | None:
    """Each member's weight gradient grad^T @ inputs ([K, out, in] in ``dtype``) times ``mask``.

    On a CPU (same dtype) it comes from ``cpu_fastpath.blocked_weight_gradient`` (blocks of members masked
    in cache, optionally handed to ``update``, and then nothing is returned); elsewhere it is one batched
    product and one multiply."""
    if grad.device.type == "cpu" and grad.dtype == dtype:
        return cpu_fastpath.blocked_weight_gradient(grad, inputs, mask, dtype, update)
    result = torch.bmm(grad.transpose(1, 2), inputs).to(dtype)
    return result.mul_(mask) if mask is not None else result


class MaskGradient(torch.autograd.Function):
    """Identity whose backward multiplies the gradient by a mask (for weights used by ops whose backward
    is autograd's own, e.g. convolutions)."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(mask)
        return weight.view_as(weight)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        mask, = ctx.saved_tensors
        return grad * mask, None


def mask_gradient(weight: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``weight`` itself, whose gradient will be multiplied by ``mask`` (no-op for ``mask=None``)."""
    return weight if mask is None else MaskGradient.apply(weight, mask)


def population_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-member mean loss [K]: binary cross-entropy for one output unit, cross-entropy otherwise.

    ``targets`` is [B] (shared) or [K, B]. Summing this over members gives each member exactly the
    gradient of its own loss, since members share no parameters.
    """
    members, batch, outputs = logits.shape
    targets = targets.expand(members, batch) if targets.dim() == 1 else targets
    if outputs == 1:
        return F.binary_cross_entropy_with_logits(logits.squeeze(-1), targets.to(logits.dtype),
                                                  reduction="none").mean(1)
    return F.cross_entropy(logits.reshape(members * batch, outputs), targets.reshape(-1),
                           reduction="none").view(members, batch).mean(1)


def population_correct(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-member count of correct predictions [K] (threshold 0 on the logit for one output unit)."""
    members, batch, outputs = logits.shape
    targets = targets.expand(members, batch) if targets.dim() == 1 else targets
    predicted = (logits.squeeze(-1) > 0).long() if outputs == 1 else logits.argmax(-1)
    return (predicted == targets).sum(1)
