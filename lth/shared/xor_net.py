"""The XOR task's data, its nets (2-H-1, sigmoid output, trained on binary cross-entropy or mean squared error),
their initialisation and the success rates both XOR experiments report."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from lth.core import tiny_mlp
from lth.core.models import PopulationMLP, sample_weight
from lth.data import Split
from lth.shared.members import derive_seed

BIAS_INITS = ("zero", "like_weights")
LOSSES = ("bce", "mse")
MSE_FLAG = "loss:mse"       # per-member buffer: 1.0 where the member trains on mean squared error

ZERO_LOSS_HELP = ("a net 'reaches zero loss' when the mean binary cross-entropy of its sigmoid output on the four "
                  "points is below this, whichever loss it trains on (MSE too)")

XOR_INPUTS = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))
XOR_LABELS = (0, 1, 1, 0)


def xor_split(device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> Split:
    """The four XOR points and labels."""
    return Split(torch.tensor(XOR_INPUTS, dtype=dtype, device=device),
                 torch.tensor(XOR_LABELS, device=device))


class _MseGradient(torch.autograd.Function):
    """Identity on the output logit z; backward turns the gradient of the engine's mean binary cross-entropy,
    (sigmoid(z) - y) / B, into that of the mean squared error of sigmoid(z), 2 (sigmoid(z) - y) sigmoid'(z) / B,
    for the members flagged (the others' gradient passes unchanged, bit for bit)."""

    @staticmethod
    def forward(ctx, logits: torch.Tensor, mse: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(logits, mse)
        return logits.view_as(logits)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        logits, mse = ctx.saved_tensors
        p = torch.sigmoid(logits)
        flagged = (mse > 0).view(-1, *([1] * (grad.dim() - 1)))
        return torch.where(flagged, grad * (2 * p * (1 - p)), grad), None


@dataclass(frozen=True)
class XorNet:
    """A population of 2-H-1 nets, each member trained on its own loss (``MSE_FLAG``, a buffer the optimizer
    leaves alone). The engine's loss, and so every loss it reports and the 'zero loss' criterion, stays the
    mean binary cross-entropy of the sigmoid output; an MSE member's gradient is that of the MSE."""
    base: PopulationMLP

    @property
    def buffer_names(self) -> list[str]:
        """The loss flag (not trained)."""
        return [MSE_FLAG]

    def forward(self, params: dict[str, torch.Tensor], x: torch.Tensor, training: bool = False,
                grad_masks: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """The base net's output logit [K, B, 1], whose gradient is each member's own loss's."""
        weights = {n: p for n, p in params.items() if n != MSE_FLAG}
        base = self.base
        if tiny_mlp.applies(base.sizes, base.activation, x, weights):
            logits = tiny_mlp.forward(base.activation, weights, x, grad_masks)     # the same bits, faster on a CPU
        else:
            logits = base.forward(weights, x, training, grad_masks)
        return _MseGradient.apply(logits, params[MSE_FLAG])


def xor_net(hidden: int, activation: str) -> XorNet:
    """A 2-``hidden``-1 population net with ``activation`` hidden units."""
    return XorNet(PopulationMLP((2, hidden, 1), activation))


def xor_init(model: XorNet, seeds: list[int], init: str, init_std: float, bias_init: str, loss: str = "bce",
             device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """Initial parameters of one 2-H-1 net per seed: weights from ``init``; biases 0 or (``like_weights``)
    drawn from the same distribution as their layer's weights, from a stream of their own (so the weights
    are those of the zero-bias init with the same seed); and the loss flag of ``loss``."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; allowed: {', '.join(LOSSES)}")
    base = model.base
    params = base.init_params(seeds, init, init_std, device=device)
    if bias_init == "like_weights":
        shapes = base.shapes()
        for name, (shape, kind) in shapes.items():
            if kind != "bias":
                continue
            weight_shape = shapes[name.replace("bias", "weight")][0]
            params[name] = torch.stack([
                sample_weight(weight_shape, init, torch.Generator().manual_seed(derive_seed(seed, "bias")),
                              init_std)[:, 0] for seed in seeds]).to(device)
    params[MSE_FLAG] = torch.full((len(seeds),), float(loss == "mse"), device=device)
    return params


def success_rates(loss: torch.Tensor, accuracy: torch.Tensor, threshold: float) -> dict[str, Any]:
    """DB and ZL rates in percent with their binomial standard errors, from final loss/accuracy [K]."""
    trials = int(loss.numel())

    def rate(hits: torch.Tensor) -> tuple[float, float]:
        p = hits.double().mean().item()
        return round(100 * p, 3), round(100 * math.sqrt(p * (1 - p) / trials), 3)

    db, db_se = rate(accuracy == 1.0)
    zl, zl_se = rate(loss < threshold)
    return {"db": db, "db_se": db_se, "zl": zl, "zl_se": zl_se, "trials": trials}
