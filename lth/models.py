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


@dataclass(frozen=True)
class PopulationMLP:
    """A fully connected net (e.g. XOR 2-H-1, LeNet-300-100 784-300-100-10) for a population of members.

    Parameters are named ``fc{i}.weight`` ([K, out, in]) and ``fc{i}.bias`` ([K, out]).
    """
    sizes: tuple[int, ...]
    activation: str = "relu"

    @property
    def layer_names(self) -> list[str]:
        """Weight names in forward order (what magnitude pruning acts on)."""
        return [f"fc{i}.weight" for i in range(len(self.sizes) - 1)]

    def init_params(self, seeds: list[int], init: str = "glorot_normal", std: float = 0.1,
                    dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """Initial parameters of one member per seed (each member's init depends only on its own seed)."""
        members = []
        for seed in seeds:
            generator = torch.Generator().manual_seed(int(seed))
            member = {}
            for i, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
                member[f"fc{i}.weight"] = sample_weight((fan_out, fan_in), init, generator, std, dtype)
                member[f"fc{i}.bias"] = torch.zeros(fan_out, dtype=dtype)
            members.append(member)
        return {name: torch.stack([m[name] for m in members]).to(device) for name in members[0]}

    def forward(self, params: dict[str, torch.Tensor], x: torch.Tensor, training: bool = False) -> torch.Tensor:
        """Logits [K, B, out] for inputs [B, in] (shared by all members) or [K, B, in] (one batch each)."""
        act = ACTIVATIONS[self.activation]
        h = x
        layers = len(self.sizes) - 1
        for i in range(layers):
            h = population_linear(h, params[f"fc{i}.weight"], params[f"fc{i}.bias"])
            if i < layers - 1:
                h = act(h)
        return h


def population_linear(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """Each member's affine layer: [B, in] (shared by all members) or [K, B, in] -> [K, B, out].

    For a shared batch this is one [B, in] x [in, K*out] product instead of K small ones (the weights'
    [K, out, in] layout makes the [K*out, in] view free).
    """
    members, outputs, inputs = weight.shape
    if h.dim() == 2:
        flat = weight.reshape(members * outputs, inputs).t()
        h = torch.addmm(bias.reshape(1, -1), h, flat) if bias is not None else h @ flat
        return h.view(-1, members, outputs).transpose(0, 1)
    if bias is None:
        return torch.bmm(h, weight.transpose(1, 2))
    return torch.baddbmm(bias.unsqueeze(1), h, weight.transpose(1, 2))


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
