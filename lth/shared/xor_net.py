"""The XOR task's data, its nets' initialisation and the success rates both XOR experiments report."""
from __future__ import annotations

import math
from typing import Any

import torch

from lth.core.models import PopulationMLP, sample_weight
from lth.data import Split
from lth.shared.members import derive_seed

BIAS_INITS = ("zero", "like_weights")


XOR_INPUTS = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))
XOR_LABELS = (0, 1, 1, 0)


def xor_split(device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> Split:
    """The four XOR points and labels."""
    return Split(torch.tensor(XOR_INPUTS, dtype=dtype, device=device),
                 torch.tensor(XOR_LABELS, device=device))


def xor_init(model: PopulationMLP, seeds: list[int], init: str, init_std: float, bias_init: str,
             device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """Initial parameters of one 2-H-1 net per seed: weights from ``init``; biases 0 or (``like_weights``)
    drawn from the same distribution as their layer's weights, from a stream of their own (so the weights
    are those of the zero-bias init with the same seed)."""
    params = model.init_params(seeds, init, init_std, device=device)
    if bias_init == "like_weights":
        shapes = model.shapes()
        for name, (shape, kind) in shapes.items():
            if kind != "bias":
                continue
            weight_shape = shapes[name.replace("bias", "weight")][0]
            params[name] = torch.stack([
                sample_weight(weight_shape, init, torch.Generator().manual_seed(derive_seed(seed, "bias")),
                              init_std)[:, 0] for seed in seeds]).to(device)
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
