"""One-hidden-layer population nets on a batch shared by every member (XOR's 2-H-1), computed members-last on
a CPU, bit for bit as ``PopulationMLP`` computes them.

torch computes the products of such nets (contraction x rows x columns below ``PLAIN_LOOP_LIMIT``) with a
plain loop per member: ``acc = 0``, then ``acc += a * b`` in contraction order, then ``bias + acc``. Its cost
is a fixed ~0.1 us per member and product, which is most of a step of thousands of XOR nets. Here the member
axis is innermost and each product is the same float32 multiplies and adds in the same order, as whole-tensor
operations over the members, so every element is rounded exactly as torch's loop rounds it.

Element-wise kernels whose vector and scalar paths round differently (``sigmoid`` on this torch: an element's
result then depends on where it sits in memory) run on a members-first copy laid out as torch's path lays it out;
the others run members-last. Which is which is checked once per process on this machine (``layout_free``), as is
the host (x86-64: other builds may send tiny products elsewhere or fuse the loop's multiply-add). Reductions that
torch does itself (the bias gradients) are torch's own calls on tensors laid out as in torch's path.
"""
from __future__ import annotations

import functools
import platform
from typing import Callable

import torch

from lth.core import cpu_fastpath
from lth.core.models import ACTIVATIONS

# torch (aten's bmm / baddbmm on a CPU) takes its plain per-member loop below this many multiply-adds per member.
PLAIN_LOOP_LIMIT = 400

ACTIVATION_FORWARD = ACTIVATIONS            # the activations PopulationMLP applies
# The backward formula autograd uses for each activation (torch's derivatives: of the activation's result).
ACTIVATION_BACKWARD: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "relu": lambda grad, result: torch.ops.aten.threshold_backward(grad, result, 0),
    "tanh": torch.ops.aten.tanh_backward,
    "sigmoid": torch.ops.aten.sigmoid_backward,
}
# Hosts whose torch computes products this small in the plain loop, without fused multiply-adds.
PLAIN_LOOP_MACHINES = ("x86_64", "AMD64")


def same_bits_at_every_offset(kernel: Callable[..., torch.Tensor], *inputs: torch.Tensor) -> bool:
    """Whether an element-wise kernel gives each element the same bits wherever it sits in memory (in its vector
    loop or its scalar tail): the kernel on the tensors, on strided copies of them (every element through the
    scalar loop: the shifts alone test only the few elements of a tail, and on a host without AVX-512 sigmoid's
    two loops differ in a small share of values, which a tail can miss: docs/measurements.md, session 27) and on
    each of them shifted by 1-16 elements."""
    whole = kernel(*inputs)
    if not torch.equal(whole, kernel(*[_strided(t) for t in inputs])):
        return False
    return all(torch.equal(whole[shift:], kernel(*[t[shift:] for t in inputs])) for shift in range(1, 17))


def _strided(t: torch.Tensor) -> torch.Tensor:
    """The values of a 1-D tensor as a non-contiguous view (every other element of a tensor twice its length)."""
    spread = t.new_zeros(2 * t.numel())
    spread[::2] = t
    return spread[::2]


@functools.cache
def layout_free(activation: str, direction: str) -> bool:
    """Whether ``activation``'s ``forward`` or ``backward`` kernel is free of memory position on this machine
    (``same_bits_at_every_offset`` on a fixed sample that spans its range), checked once per process."""
    generator = torch.Generator().manual_seed(0)
    z, grad = torch.randn(4099, generator=generator) * 4, torch.randn(4099, generator=generator)
    forward = ACTIVATION_FORWARD[activation]
    if direction == "forward":
        return same_bits_at_every_offset(forward, z)
    return same_bits_at_every_offset(ACTIVATION_BACKWARD[activation], grad, forward(z))


def applies(sizes: tuple[int, ...], activation: str, x: torch.Tensor, params: dict[str, torch.Tensor]) -> bool:
    """Whether a 2-layer population net's forward on ``x`` can take this path: an x86-64 CPU, float32 everywhere,
    no autocast, a batch shared by all members that needs no gradient, every product of the forward and backward
    passes in torch's plain loop, an activation whose backward kernel is ``layout_free`` here, and no optimizer
    update inside the backward pass (``cpu_fastpath``)."""
    if len(sizes) != 3 or activation not in ACTIVATION_FORWARD or x.dim() != 2 or x.requires_grad:
        return False
    if platform.machine() not in PLAIN_LOOP_MACHINES or not layout_free(activation, "backward"):
        return False
    inputs, hidden, outputs = sizes
    batch = x.shape[0]
    weights = [params["fc0.weight"], params["fc1.weight"]]
    tensors = [x, *weights, params["fc0.bias"], params["fc1.bias"]]
    return (all(t.device.type == "cpu" and t.dtype == torch.float32 for t in tensors)
            and not torch.is_autocast_enabled("cpu")
            and batch * inputs * hidden < PLAIN_LOOP_LIMIT and batch * hidden * outputs < PLAIN_LOOP_LIMIT
            and all(cpu_fastpath.update_for(w) is None for w in weights))


def forward(activation: str, params: dict[str, torch.Tensor], x: torch.Tensor,
            grad_masks: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """Logits [K, B, out] of every member on the shared batch ``x`` [B, in] (check ``applies`` first);
    ``grad_masks[name]`` multiplies that weight's gradient, as in ``population_linear``."""
    grad_masks = grad_masks or {}
    return _TinyMLP.apply(x, params["fc0.weight"], params["fc0.bias"], params["fc1.weight"], params["fc1.bias"],
                          grad_masks.get("fc0.weight"), grad_masks.get("fc1.weight"), activation)


def ordered_sum(terms) -> torch.Tensor:
    """0 + t0 + t1 + ... in this order (torch's plain-loop accumulation: ``0 +`` turns a -0 first term into +0)."""
    total = None
    for term in terms:
        total = term + 0.0 if total is None else total.add_(term)
    return total


def members_first(t: torch.Tensor) -> torch.Tensor:
    """A members-last tensor [..., K] as members-first [K, ...] (a view)."""
    return t.permute(t.dim() - 1, *range(t.dim() - 1))


def members_last(t: torch.Tensor) -> torch.Tensor:
    """A members-first tensor [K, ...] as members-last [..., K] (a view)."""
    return t.permute(*range(1, t.dim()), 0)


def _activate(activation: str, z: torch.Tensor) -> torch.Tensor:
    """The activation of members-last pre-activations [B, H, K], rounded as on torch's members-first tensor."""
    act = ACTIVATION_FORWARD[activation]
    if layout_free(activation, "forward"):
        return act(z)
    return members_last(act(members_first(z).contiguous())).contiguous()


class _TinyMLP(torch.autograd.Function):
    """x [B, in] -> fc0 -> activation -> fc1 -> logits [K, B, out], members-last inside (module docstring)."""

    @staticmethod
    def forward(ctx, x, w0, b0, w1, b1, mask0, mask1, activation):
        batch, inputs = x.shape
        w0_last = w0.permute(1, 2, 0).contiguous()                                   # [H, in, K]
        products = x.view(batch, 1, inputs, 1) * w0_last                         # [B, H, in, K]
        # in place on the members-last sum: ``b0.t() + sum`` would be laid out as b0.t() is, members not innermost
        h = _activate(activation, ordered_sum(products[:, :, i] for i in range(inputs)).add_(b0.t()))   # [B, H, K]
        w1_last = w1.permute(1, 2, 0).contiguous()                                   # [out, H, K]
        products = h.unsqueeze(1) * w1_last                                     # [B, out, H, K]
        z1 = ordered_sum(products[:, :, j] for j in range(h.shape[1])).add_(b1.t())        # [B, out, K]
        ctx.save_for_backward(x, h, w1_last, mask0, mask1)
        ctx.activation = activation
        return members_first(z1).contiguous()

    @staticmethod
    def backward(ctx, grad):
        x, h, w1_last, mask0, mask1 = ctx.saved_tensors
        batch, outputs = grad.shape[1], grad.shape[2]
        grad_last = members_last(grad).contiguous().unsqueeze(2)                     # [B, out, 1, K]
        products = grad_last * h.unsqueeze(1)                                    # [B, out, H, K]
        grad_w1 = ordered_sum(products[b] for b in range(batch))                      # [out, H, K]
        products = grad_last * w1_last                                          # [B, out, H, K]
        grad_h = ordered_sum(products[:, o] for o in range(outputs))                   # [B, H, K]
        grad_z = ACTIVATION_BACKWARD[ctx.activation](grad_h, h)
        products = grad_z.unsqueeze(2) * x.view(batch, 1, -1, 1)                # [B, H, in, K]
        grad_w0 = ordered_sum(products[b] for b in range(batch))                      # [H, in, K]
        # the bias gradient as torch sums it: its order depends on the layout (from 5 batch rows on)
        return (None, _weight_gradient(grad_w0, mask0), members_first(grad_z).contiguous().sum(1),
                _weight_gradient(grad_w1, mask1), grad.sum(1), None, None, None)


def _weight_gradient(last: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """A members-last weight gradient [out, in, K] in the weights' layout [K, out, in], times ``mask``."""
    result = members_first(last).contiguous()
    return result.mul_(mask) if mask is not None else result
