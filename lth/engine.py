"""The population engine: train K same-shaped models in lock-step, each with its own mask, init and seed.

Members are stacked along a leading axis, so one optimizer step updates every member; the summed loss
gives each member exactly its own gradient. Pruned weights are exactly zero after every step: gradients
are masked before the step (so Adam's moments stay zero there) and weights after it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Protocol

import torch
from tqdm.auto import tqdm

from lth.masks import Masks, apply_masks
from lth.models import population_correct, population_loss


class PopulationModel(Protocol):
    def forward(self, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class TrainSettings:
    """How a population trains; every member uses the same settings."""
    iterations: int
    batch_size: int = 0                  # 0 = full batch
    optimizer: str = "adam"              # adam | sgd
    lr: float = 1e-3
    momentum: float = 0.0
    weight_decay: float = 0.0
    lr_milestones: tuple[int, ...] = ()  # iterations at which the lr is multiplied by lr_gamma
    lr_gamma: float = 0.1
    warmup_iterations: int = 0           # linear warmup from 0 to lr
    eval_every: int = 0                  # 0 = evaluate only after the last iteration
    shared_data_order: bool = False      # all members see the same batches (faster; same order for all)

    def lr_factor(self, iteration: int) -> float:
        """Learning-rate multiplier at ``iteration`` (0-based): linear warmup, then step decay."""
        factor = self.lr_gamma ** sum(iteration >= m for m in self.lr_milestones)
        if self.warmup_iterations and iteration < self.warmup_iterations:
            factor *= (iteration + 1) / self.warmup_iterations
        return factor


@dataclass
class Split:
    """Inputs (features, already on the device and normalised) and integer labels of one data split."""
    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass
class TrainResult:
    """Per-member outcome of training: final parameters and evaluation curves."""
    params: dict[str, torch.Tensor]
    eval_iterations: list[int] = field(default_factory=list)
    curves: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)  # split -> loss/accuracy [K, T]
    diverged: torch.Tensor | None = None                                       # [K] bool
    best_params: dict[str, torch.Tensor] | None = None   # each member's weights at its minimum tracked loss
    best_iteration: torch.Tensor | None = None           # [K] iteration of that minimum (early stop)


def make_optimizer(params: list[torch.Tensor], settings: TrainSettings) -> torch.optim.Optimizer:
    """Adam or SGD over the stacked tensors; fused where the device supports it (fast, and no slowdown
    from zeros in Adam's state)."""
    device = params[0].device
    fused = device.type in ("cpu", "cuda") and params[0].dtype in (torch.float32, torch.float64, torch.float16,
                                                                     torch.bfloat16)
    if settings.optimizer == "adam":
        return torch.optim.Adam(params, lr=settings.lr, weight_decay=settings.weight_decay, fused=fused)
    if settings.optimizer == "sgd":
        return torch.optim.SGD(params, lr=settings.lr, momentum=settings.momentum,
                               weight_decay=settings.weight_decay, fused=fused)
    raise ValueError(f"unknown optimizer {settings.optimizer!r}; allowed: adam, sgd")


@torch.no_grad()
def evaluate(model: PopulationModel, params: dict[str, torch.Tensor], split: Split,
             chunk: int = 10000) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean loss [K] and accuracy [K] of every member on ``split``, in chunks of examples."""
    total_loss = None
    correct = None
    for start in range(0, len(split), chunk):
        x, y = split.x[start:start + chunk], split.y[start:start + chunk]
        logits = model.forward(params, x)
        loss = population_loss(logits, y) * len(y)
        hits = population_correct(logits, y)
        total_loss = loss if total_loss is None else total_loss + loss
        correct = hits if correct is None else correct + hits
    return total_loss / len(split), correct.double() / len(split)


class BatchSampler:
    """Epoch-wise shuffled batches; one shuffle stream per member (or one shared stream)."""

    def __init__(self, size: int, batch_size: int, seeds: list[int], shared: bool, device: torch.device):
        self.size, self.batch_size, self.device = size, batch_size, device
        self.generators = [torch.Generator().manual_seed(int(s)) for s in (seeds[:1] if shared else seeds)]
        self.orders: torch.Tensor | None = None
        self.position = size

    def next(self) -> torch.Tensor:
        """Indices [G, B] of the next batch (G = 1 when shared); reshuffles after each epoch."""
        if self.position + self.batch_size > self.size:
            self.orders = torch.stack([torch.randperm(self.size, generator=g) for g in self.generators]
                                      ).to(self.device)
            self.position = 0
        batch = self.orders[:, self.position:self.position + self.batch_size]
        self.position += self.batch_size
        return batch


def train_population(model: PopulationModel, params: dict[str, torch.Tensor], masks: Masks,
                     settings: TrainSettings, train: Split, data_seeds: list[int],
                     evaluations: dict[str, Split] | None = None, progress: str | None = None,
                     on_eval: Callable[[int, dict[str, torch.Tensor]], None] | None = None,
                     eval_members: dict[str, torch.Tensor] | None = None,
                     track_best: str | None = None) -> TrainResult:
    """Train every member of a population from ``params`` (not modified) under its ``masks``.

    ``data_seeds[k]`` fixes member k's batch order. Every ``eval_every`` iterations (and at the end)
    each split in ``evaluations`` is evaluated for all members at once, giving curves [K, T]. A member
    whose loss becomes NaN/inf is marked diverged; its parameters stop changing and its curves read NaN
    from then on, while the other members train on unaffected.

    ``eval_members[name]`` restricts a split's evaluation to some members (curves then have one row per
    listed member). ``track_best`` names a split (evaluated for all members) whose minimum loss defines
    each member's early-stop point: the weights there are kept in ``best_params`` so that they can be
    tested once at the end instead of testing every member at every evaluation.
    """
    evaluations = evaluations or {}
    members = next(iter(params.values())).shape[0]
    if len(data_seeds) != members:
        raise ValueError(f"need one data seed per member: got {len(data_seeds)} for {members} members")
    state = {name: p.detach().clone().requires_grad_(True) for name, p in params.items()}
    apply_masks(state, masks)
    # Masks as multipliers of the parameters' dtype: multiplying by a bool tensor takes a slow
    # type-promoting path (measured 3-4x slower than a same-dtype multiply on the CPU).
    grad_masks = {name: mask.to(state[name].dtype) for name, mask in masks.items()}
    optimizer = make_optimizer(list(state.values()), settings)
    full_batch = settings.batch_size <= 0 or settings.batch_size >= len(train)
    sampler = None if full_batch else BatchSampler(len(train), settings.batch_size, data_seeds,
                                                   settings.shared_data_order, train.x.device)
    diverged = torch.zeros(members, dtype=torch.bool, device=train.x.device)
    result = TrainResult(params={}, curves={name: {"loss": [], "accuracy": []} for name in evaluations})

    eval_members = eval_members or {}
    best_loss = torch.full((members,), math.inf, dtype=torch.float64, device=diverged.device)
    if track_best is not None:
        result.best_params = {name: p.detach().clone() for name, p in state.items()}
        result.best_iteration = torch.zeros(members, dtype=torch.long, device=diverged.device)

    def record(iteration: int) -> None:
        result.eval_iterations.append(iteration)
        for name, split in evaluations.items():
            chosen = eval_members.get(name)
            if chosen is None:
                loss, accuracy = evaluate(model, state, split)
                gone = diverged
            else:
                loss, accuracy = evaluate(model, {n: p[chosen] for n, p in state.items()}, split)
                gone = diverged[chosen]
            loss = torch.where(gone, float("nan"), loss)
            result.curves[name]["loss"].append(loss)
            result.curves[name]["accuracy"].append(torch.where(gone, float("nan"), accuracy))
            if name == track_best:
                better = torch.nan_to_num(loss.double(), nan=math.inf) < best_loss
                best_loss[better] = loss.double()[better]
                result.best_iteration[better] = iteration
                with torch.no_grad():
                    for key, p in state.items():
                        result.best_params[key][better] = p[better]
        if on_eval is not None:
            on_eval(iteration, state)

    if settings.eval_every:
        record(0)
    bar = tqdm(range(settings.iterations), desc=progress, disable=progress is None, leave=False,
               mininterval=1.0, unit="it")
    for iteration in bar:
        if full_batch:
            x, y = train.x, train.y
        else:
            index = sampler.next()
            x, y = train.x[index], train.y[index]
            if x.shape[0] == 1:
                x, y = x[0], y[0]
        losses = population_loss(model.forward(state, x), y)
        bad = ~torch.isfinite(losses)
        if bad.any():
            diverged |= bad
            losses = torch.where(diverged, torch.zeros_like(losses), losses)
        for group in optimizer.param_groups:
            group["lr"] = settings.lr * settings.lr_factor(iteration)
        # Fresh gradient tensors each step: saves zeroing and accumulating into old ones (two memory passes).
        optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()
        with torch.no_grad():
            if diverged.any():
                for p in state.values():
                    p.grad[diverged] = 0
            for name, mask in grad_masks.items():
                state[name].grad.mul_(mask)
        # No re-masking of the weights after the step: a pruned weight starts at 0 and its gradient is
        # always 0, so Adam's moments stay 0 and its update is exactly 0 (SGD: momentum and weight decay of
        # a zero weight are 0 too). tests/test_engine.py checks that pruned weights stay exactly zero.
        optimizer.step()
        done = iteration + 1
        if settings.eval_every and (done % settings.eval_every == 0 or done == settings.iterations):
            record(done)
    if not settings.eval_every:
        record(settings.iterations)
    result.params = {name: p.detach() for name, p in state.items()}
    result.curves = {name: {metric: torch.stack(values, 1) for metric, values in curves.items()}
                     for name, curves in result.curves.items()}
    result.diverged = diverged
    return result


def early_stop(result: TrainResult, validation: str = "validation", test: str = "test") -> dict[str, torch.Tensor]:
    """Early-stop iteration (minimum validation loss) per member and the test accuracy there."""
    val_loss = result.curves[validation]["loss"]
    index = torch.nan_to_num(val_loss, nan=math.inf).argmin(1)
    iterations = torch.tensor(result.eval_iterations, device=index.device)[index]
    out = {"iteration": iterations}
    if test in result.curves:
        out["accuracy"] = result.curves[test]["accuracy"].gather(1, index.unsqueeze(1)).squeeze(1)
    return out
