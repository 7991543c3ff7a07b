"""Sparse products for sparse members of a population layer on a CPU.

A pruned LeNet-300-100 trains most of its iterations with a few percent of its first layer's weights left, yet
a dense product pays for every weight. For a member whose mask keeps at most ``below`` of a layer's weights,
the layer's forward product and its weight gradient are computed over the surviving weights only: the forward
as a CSR matrix times the batch, the weight gradient sampled at the mask's positions (SDDMM) and scattered
into the masked gradient the optimizer takes. The other members keep the dense path and its bits.

Only layers whose input needs no gradient take this path, so the input gradient, which would need the
transposed sparse product, never arises: while training the first layer (its input is the data), while evaluating
(no gradients at all) every masked layer of a sparse member. Evaluations of listed members only (test curves,
accuracies at the early stop) work on copies of the weights, which have no layout: dense products. Sparse products
sum in another
order than the dense ones: a member's numbers then differ from the dense path's in rounding (still the same
in any population and on every run on one host). The engine registers the layouts of a training's masks
(``registered``) when ``TrainSettings.sparse_below`` asks for it; models never see them.
bench/README.md (``bench/sparse_lenet.py``) has the measurements behind the default threshold's use.
"""
from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from typing import Callable

import torch

from lth.core import cpu_fastpath

# torch flags every CSR tensor's construction as beta; the two operations used here are tested (tests/).
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


@dataclass
class MemberPattern:
    """One sparse member's mask as CSR structure: row offsets, columns, and the flat positions of its
    surviving weights in the [out, in] matrix (row-major, the CSR order)."""
    crow: torch.Tensor
    col: torch.Tensor
    flat: torch.Tensor
    pattern: torch.Tensor        # the mask as a CSR matrix of zeros: where SDDMM samples the weight gradient

    def matrix(self, weight: torch.Tensor) -> torch.Tensor:
        """The member's [out, in] ``weight`` as a CSR matrix of its surviving weights."""
        return torch.sparse_csr_tensor(self.crow, self.col, weight.reshape(-1)[self.flat], weight.shape,
                                       check_invariants=False)


@dataclass
class SparseLayout:
    """Which members of a [K, out, in] layer take sparse products (``patterns``, by member index) and the
    runs of consecutive members that stay dense (``dense_runs``, [start, stop) pairs)."""
    patterns: dict[int, MemberPattern]
    dense_runs: list[tuple[int, int]]


def layout_of(mask: torch.Tensor, below: float) -> SparseLayout | None:
    """The layout of a [K, out, in] ``mask``: members keeping at most ``below`` of the weights go sparse.
    None when no member does (the layer then keeps the dense path throughout)."""
    kept = mask != 0
    density = kept.flatten(1).float().mean(1).tolist()
    sparse = [k for k, d in enumerate(density) if d <= below]
    if not sparse:
        return None
    patterns = {}
    for k in sparse:
        flat = kept[k].reshape(-1).nonzero().squeeze(1)
        rows = torch.zeros(mask.shape[1] + 1, dtype=torch.long)
        rows[1:] = kept[k].sum(1).cumsum(0)
        col = flat % mask.shape[2]
        zeros = torch.sparse_csr_tensor(rows, col, torch.zeros(len(flat), dtype=torch.float32), mask.shape[1:],
                                        check_invariants=False)
        patterns[k] = MemberPattern(rows, col, flat, zeros)
    runs, start = [], None
    for k in range(mask.shape[0] + 1):
        dense = k < mask.shape[0] and k not in patterns
        if dense and start is None:
            start = k
        elif not dense and start is not None:
            runs.append((start, k))
            start = None
    return SparseLayout(patterns, runs)


def layouts_for(weights: dict[str, torch.Tensor], masks: dict[str, torch.Tensor], below: float
                ) -> dict[torch.Tensor, SparseLayout]:
    """weight tensor -> layout, for every float32 CPU population matrix ([K, out, in]) with a mask under which
    some member keeps at most ``below`` of its weights (``registered`` takes this)."""
    layouts = {}
    for name, mask in masks.items():
        weight = weights[name]
        if weight.dim() == 3 and weight.device.type == "cpu" and weight.dtype == torch.float32:
            layout = layout_of(mask, below)
            if layout is not None:
                layouts[weight] = layout
    return layouts


_LAYOUTS = cpu_fastpath.WeightRegistry()


def layout_for(weight: torch.Tensor) -> SparseLayout | None:
    """The layout registered for this exact weight tensor, if any (see ``registered``)."""
    return _LAYOUTS.get(weight)


def registered(layouts: dict[torch.Tensor, SparseLayout]) -> contextlib.AbstractContextManager[None]:
    """Register sparse layouts for some weight tensors for the duration of a training."""
    return _LAYOUTS.registered(layouts)


def applies(layout: SparseLayout | None, h: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether a layer's products take the sparse path: a layout, float32 CPU input and weight, no autocast."""
    return (layout is not None and h.device.type == "cpu" and h.dtype == torch.float32
            and weight.dtype == torch.float32 and not torch.is_autocast_enabled("cpu"))


def _member_input(h: torch.Tensor, k: int) -> torch.Tensor:
    """Member k's [B, in] input from a shared [B, in] or a per-member [K, B, in] batch."""
    return h if h.dim() == 2 else h[k]


def forward(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, layout: SparseLayout) -> torch.Tensor:
    """[K, B, out] = each member's h @ weight^T (+ bias): the dense runs as batched products over their members
    (the dense path's bits), the sparse members as CSR products."""
    members = weight.shape[0]
    batch = h.expand(members, *h.shape) if h.dim() == 2 else h
    out = torch.empty(members, batch.shape[1], weight.shape[1], dtype=weight.dtype, device=weight.device)
    for start, stop in layout.dense_runs:
        if bias is None:
            torch.bmm(batch[start:stop], weight[start:stop].transpose(1, 2), out=out[start:stop])
        else:
            torch.baddbmm(bias[start:stop].unsqueeze(1), batch[start:stop], weight[start:stop].transpose(1, 2),
                          out=out[start:stop])
    for k, pattern in layout.patterns.items():
        product = torch.sparse.mm(pattern.matrix(weight[k]), _member_input(h, k).t()).t()
        out[k] = product if bias is None else product + bias[k]
    return out


def weight_gradient(grad: torch.Tensor, h: torch.Tensor, mask: torch.Tensor | None, layout: SparseLayout,
                    update: Callable[[int, int, torch.Tensor], None] | None = None) -> torch.Tensor | None:
    """Each member's masked weight gradient grad^T @ h ([K, out, in]), a block of members at a time as
    ``cpu_fastpath.blocked_weight_gradient`` computes it (handed to ``update`` while in cache when given):
    dense runs as its batched products times the mask, sparse members sampled at their mask (SDDMM)."""
    members, _, outputs = grad.shape
    inputs = h.expand(members, *h.shape) if h.dim() == 2 else h
    shape = torch.Size((outputs, inputs.shape[-1]))
    block = cpu_fastpath.gradient_block_members(members, shape.numel(), grad.dtype)
    result = torch.empty((block if update is not None else members), *shape, dtype=grad.dtype)
    for start in range(0, members, block):
        stop = min(members, start + block)
        part = result[:stop - start] if update is not None else result[start:stop]
        for low, high in layout.dense_runs:
            low, high = max(low, start), min(high, stop)
            if low < high:
                rows = part[low - start:high - start]
                torch.bmm(grad[low:high].transpose(1, 2), inputs[low:high], out=rows)
                if mask is not None:
                    rows.mul_(mask[low:high])
        for k in range(start, stop):
            pattern = layout.patterns.get(k)
            if pattern is not None:
                sampled = torch.sparse.sampled_addmm(pattern.pattern, grad[k].t(), inputs[k], beta=0.0)
                part[k - start].zero_().view(-1)[pattern.flat] = sampled.values()
        if update is not None:
            update(start, stop, part)
    return None if update is not None else result
