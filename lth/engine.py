"""The population engine: train K same-shaped models in lock-step, each with its own mask, init and seed.

Members are stacked along a leading axis, so one optimizer step updates every member; the summed loss
gives each member exactly its own gradient. Pruned weights are exactly zero after every step: they start
at zero and the model masks their gradients in the backward pass, so the optimizer's state and update stay zero
there. ``train_in_chunks`` trains a population a few members at a time through the same loop, for nets and
devices where one big population does not pay (conv nets on a CPU).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
import time
from typing import Any, Callable, Protocol

import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from lth.masks import Masks, apply_masks
from lth.models import MemberUpdate, population_correct, population_loss
from lth.runtime import keep_large_allocations_on_heap


class PopulationModel(Protocol):
    """What the engine trains. ``forward`` must multiply each weight's gradient by ``grad_masks[name]`` in
    the backward pass (models do it where the gradient is computed, which costs no extra pass). It may hand
    a weight's masked gradient to ``weight_updates[name]`` (blocks of members, see
    ``PopulationOptimizer.member_updates``) instead of returning it to autograd."""

    def forward(self, params: dict[str, torch.Tensor], x: torch.Tensor, training: bool = False,
                grad_masks: dict[str, torch.Tensor] | None = None,
                weight_updates: dict[str, MemberUpdate] | None = None) -> torch.Tensor: ...


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
    augment: bool = False                # random horizontal flip + 4-pixel pad-and-crop of image batches
    mixed_precision: bool = False        # bfloat16 autocast of the training forward/backward pass

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
    """Adam or SGD over ``params``; fused where the device supports it (fast, and no slowdown from zeros
    in Adam's state)."""
    device = params[0].device
    fused = device.type in ("cpu", "cuda") and params[0].dtype in (torch.float32, torch.float64, torch.float16,
                                                                     torch.bfloat16)
    if settings.optimizer == "adam":
        return torch.optim.Adam(params, lr=settings.lr, weight_decay=settings.weight_decay, fused=fused)
    if settings.optimizer == "sgd":
        return torch.optim.SGD(params, lr=settings.lr, momentum=settings.momentum,
                               weight_decay=settings.weight_decay, fused=fused)
    raise ValueError(f"unknown optimizer {settings.optimizer!r}; allowed: adam, sgd")


# Elements of one CPU cache line of float32: the unit in which fused CPU optimizers split a tensor.
MEMBER_ALIGNMENT = 16


class PopulationOptimizer:
    """A population's trainable state and its optimizer, updating every member with exactly the same
    instructions whatever else is in the population (so that training a member alone, or a population
    split over processes, changes no bit of it).

    A fused CPU optimizer runs a vector loop over each tensor in cache-line units and a scalar loop over
    the elements left at its end, and the two round differently (Adam's update differed by up to 6e-8 for
    the members whose elements fell in the scalar loop). So on a CPU every tensor the optimizer sees is a
    whole number of cache lines: a stacked parameter whose size is not (LeNet's biases and last layer, <1%
    of its weights) lives in zero-padded storage, which the optimizer updates with a padded copy of the
    gradient (zero in the padding, so the padding stays zero). GPUs' fused kernels have no scalar loop.

    On a CPU, Adam can also update a weight a block of members at a time during the backward pass, while
    the block's gradient is in cache (``member_updates``): the same kernel on the same numbers, so the same
    bits, without writing the gradient out and reading it back.
    """

    def __init__(self, params: dict[str, torch.Tensor], buffers: set[str], settings: TrainSettings):
        self.state: dict[str, torch.Tensor] = {}
        self.padded: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []   # (parameter, storage, grad)
        handed: list[torch.Tensor] = []
        for name, value in params.items():
            value = value.detach()
            if name in buffers:
                self.state[name] = value.clone()
                continue
            count = value.numel()
            if value.device.type != "cpu" or count % MEMBER_ALIGNMENT == 0:
                self.state[name] = value.clone().requires_grad_()
                handed.append(self.state[name])
                continue
            size = -(-count // MEMBER_ALIGNMENT) * MEMBER_ALIGNMENT
            storage = torch.zeros(size, dtype=value.dtype, device=value.device)
            storage[:count].copy_(value.flatten())
            parameter = storage[:count].view(value.shape).requires_grad_()
            self.state[name] = parameter
            self.padded.append((parameter, storage, torch.zeros_like(storage)))
            handed.append(storage)
        self.optimizer = make_optimizer(handed, settings)
        self.frozen: torch.Tensor | None = None        # [K] bool: members whose gradients are set to zero
        self._updated: set[str] = set()                 # weights updated during this step's backward pass

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The wrapped optimizer's parameter groups (the engine sets their learning rate)."""
        return self.optimizer.param_groups

    def member_updates(self) -> dict[str, MemberUpdate]:
        """Functions that update a block of members of a weight from that block's gradient, for the models'
        backward pass (see ``PopulationModel``): one per parameter that the fused CPU Adam can update in
        blocks of members with exactly the bits of a whole-tensor update (float32, not padded, each
        member a whole number of cache lines). Empty on other devices and for other optimizers, where
        gradients reach the optimizer through ``.grad`` as usual."""
        group = self.optimizer.param_groups[0]
        if not (isinstance(self.optimizer, torch.optim.Adam) and group["fused"] and not group["amsgrad"]
                and not group["maximize"] and not group["capturable"]):
            return {}
        handed = {id(p) for p in group["params"]}
        updates = {}
        for name, parameter in self.state.items():
            if (id(parameter) in handed and parameter.device.type == "cpu" and parameter.dtype == torch.float32
                    and parameter.is_contiguous() and parameter[0].numel() % MEMBER_ALIGNMENT == 0):
                self._initialise_adam_state(parameter)
                updates[name] = lambda start, stop, grad, name=name: self._update_members(name, start, stop, grad)
        return updates

    def _initialise_adam_state(self, parameter: torch.Tensor) -> None:
        """Adam's state for ``parameter`` as ``torch.optim.Adam`` creates it at its first step (fused)."""
        state = self.optimizer.state[parameter]
        if not state:
            state["step"] = torch.zeros((), dtype=torch.float32, device=parameter.device)
            state["exp_avg"] = torch.zeros_like(parameter, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(parameter, memory_format=torch.preserve_format)

    def _update_members(self, name: str, start: int, stop: int, grad: torch.Tensor) -> None:
        """Adam's step for members [start, stop) of weight ``name`` from their gradient ``grad``: the call
        ``torch.optim.Adam`` makes for the whole tensor, on the members' slices."""
        parameter = self.state[name]
        state = self.optimizer.state[parameter]
        if name not in self._updated:          # the step count, once per step as Adam counts it
            state["step"].add_(1)
            self._updated.add(name)
        if self.frozen is not None:
            grad[self.frozen[start:stop]] = 0
        group = self.optimizer.param_groups[0]
        beta1, beta2 = group["betas"]
        with torch.no_grad():
            torch._fused_adam_([parameter[start:stop]], [grad], [state["exp_avg"][start:stop]],
                               [state["exp_avg_sq"][start:stop]], [], [state["step"]], amsgrad=False,
                               lr=group["lr"], beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"],
                               eps=group["eps"], maximize=False, grad_scale=None, found_inf=None)

    def zero_grad(self) -> None:
        """Drop every gradient (fresh gradient tensors next step: no zeroing pass over memory) and start a
        new step for the in-backward updates."""
        for parameter in self.state.values():
            parameter.grad = None
        self._updated.clear()

    def step(self) -> None:
        """One update of every member from the parameters' gradients (those of ``frozen`` members set to
        zero first, as the in-backward updates do)."""
        if self.frozen is not None:
            with torch.no_grad():
                for parameter in self.state.values():
                    if parameter.grad is not None:
                        parameter.grad[self.frozen] = 0
        for parameter, storage, grad in self.padded:
            if parameter.grad is None:
                storage.grad = None
                continue
            grad[:parameter.numel()].copy_(parameter.grad.flatten())
            storage.grad = grad
        self.optimizer.step()

    def state_dict(self) -> dict[str, Any]:
        """The wrapped optimizer's state (moments, step counts) for snapshots."""
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a ``state_dict`` taken from an optimizer over the same population."""
        self.optimizer.load_state_dict(state)


@torch.no_grad()
def evaluate(model: PopulationModel, params: dict[str, torch.Tensor], split: Split,
             chunk: int = 10000) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean loss [K] and accuracy [K] of every member on ``split``, in chunks of examples."""
    total_loss = None
    correct = None
    chunk = min(chunk, getattr(model, "eval_chunk", chunk))
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

    def state(self) -> dict[str, Any]:
        """Everything needed to continue the same batch sequence later (see ``load_state``)."""
        return {"generators": [g.get_state() for g in self.generators], "orders": self.orders,
                "position": self.position}

    def load_state(self, state: dict[str, Any]) -> None:
        for generator, saved in zip(self.generators, state["generators"]):
            generator.set_state(saved)
        self.orders, self.position = state["orders"], state["position"]


def train_population(model: PopulationModel, params: dict[str, torch.Tensor], masks: Masks,
                     settings: TrainSettings, train: Split, data_seeds: list[int],
                     evaluations: dict[str, Split] | None = None, progress: str | None = None,
                     on_eval: Callable[[int, dict[str, torch.Tensor]], None] | None = None,
                     eval_members: dict[str, torch.Tensor] | None = None,
                     track_best: str | None = None, resume: dict[str, Any] | None = None,
                     on_snapshot: Callable[[dict[str, Any]], None] | None = None,
                     snapshot_every_s: float = 600.0) -> TrainResult:
    """Train every member of a population from ``params`` (not modified) under its ``masks``.

    ``data_seeds[k]`` fixes member k's batch order. Every ``eval_every`` iterations (and at the end)
    each split in ``evaluations`` is evaluated for all members at once, giving curves [K, T]. A member
    whose loss becomes NaN/inf is marked diverged; its parameters stop changing and its curves read NaN
    from then on, while the other members train on unaffected.

    ``eval_members[name]`` restricts a split's evaluation to some members (curves then have one row per
    listed member). ``track_best`` names a split (evaluated for all members) whose minimum loss defines
    each member's early-stop point: the weights there are kept in ``best_params`` so that they can be
    tested once at the end instead of testing every member at every evaluation.

    Long trainings can be interrupted: at an evaluation point at least ``snapshot_every_s`` seconds after
    the previous snapshot, ``on_snapshot`` receives the loop's whole state (weights, optimizer, batch order,
    random generators, curves so far); passing it back as ``resume`` continues exactly where it stopped.
    """
    evaluations = evaluations or {}
    keep_large_allocations_on_heap()
    members = next(iter(params.values())).shape[0]
    if len(data_seeds) != members:
        raise ValueError(f"need one data seed per member: got {len(data_seeds)} for {members} members")
    buffers = set(getattr(model, "buffer_names", ()))
    optimizer = PopulationOptimizer(params, buffers, settings)
    state = optimizer.state
    apply_masks(state, masks)
    # Masks as multipliers of the parameters' dtype: multiplying by a bool tensor takes a slow
    # type-promoting path (measured 3-4x slower than a same-dtype multiply on the CPU).
    grad_masks = {name: mask.to(state[name].dtype) for name, mask in masks.items()}
    weight_updates = optimizer.member_updates()
    # Dropout draws from torch's global generator and augmentation from its own: seed both from the
    # members' data seeds so that a run (and a resumed run) is reproducible.
    torch.manual_seed(data_seeds[0])
    augment_generator = torch.Generator(train.x.device).manual_seed(data_seeds[0]) if settings.augment else None
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

    def snapshot(done: int) -> dict[str, Any]:
        return {"iteration": done, "state": state, "optimizer": optimizer.state_dict(),
                "sampler": sampler.state() if sampler is not None else None,
                "augment": augment_generator.get_state() if augment_generator is not None else None,
                "rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state(diverged.device) if diverged.device.type == "cuda" else None,
                "diverged": diverged, "best_loss": best_loss, "best_params": result.best_params,
                "best_iteration": result.best_iteration, "eval_iterations": result.eval_iterations,
                "curves": result.curves}

    first = 0
    if resume is not None:
        first = resume["iteration"]
        with torch.no_grad():
            for name, value in resume["state"].items():
                state[name].copy_(value)
        optimizer.load_state_dict(resume["optimizer"])
        if sampler is not None:
            sampler.load_state(resume["sampler"])
        if augment_generator is not None:
            augment_generator.set_state(resume["augment"])
        torch.set_rng_state(resume["rng"])
        if resume["cuda_rng"] is not None:
            torch.cuda.set_rng_state(resume["cuda_rng"], diverged.device)
        diverged.copy_(resume["diverged"])
        best_loss.copy_(resume["best_loss"])
        result.best_params, result.best_iteration = resume["best_params"], resume["best_iteration"]
        result.eval_iterations, result.curves = resume["eval_iterations"], resume["curves"]
    elif settings.eval_every:
        record(0)
    last_snapshot = time.monotonic()
    bar = tqdm(range(first, settings.iterations), desc=progress, disable=progress is None, leave=False,
               mininterval=1.0, unit="it", initial=first, total=settings.iterations)
    for iteration in bar:
        if full_batch:
            x, y = train.x, train.y
        else:
            index = sampler.next()
            x, y = train.x[index], train.y[index]
            if x.shape[0] == 1:
                x, y = x[0], y[0]
        if augment_generator is not None:
            x = flip_and_crop(x, augment_generator)
        with torch.autocast(train.x.device.type, dtype=torch.bfloat16, enabled=settings.mixed_precision):
            losses = population_loss(model.forward(state, x, training=True, grad_masks=grad_masks,
                                                   weight_updates=weight_updates), y)
        bad = ~torch.isfinite(losses)
        if bad.any():
            diverged |= bad
            losses = torch.where(diverged, torch.zeros_like(losses), losses)
        optimizer.frozen = diverged if diverged.any() else None
        for group in optimizer.param_groups:
            group["lr"] = settings.lr * settings.lr_factor(iteration)
        # Fresh gradient tensors each step: saves zeroing and accumulating into old ones (two memory passes).
        # Weights in ``weight_updates`` are updated during the backward pass; the step below does the rest.
        optimizer.zero_grad()
        losses.sum().backward()
        # No re-masking of the weights after the step: a pruned weight starts at 0 and its gradient is
        # always 0, so Adam's moments stay 0 and its update is exactly 0 (SGD: momentum and weight decay of
        # a zero weight are 0 too). tests/test_engine.py checks that pruned weights stay exactly zero.
        optimizer.step()
        done = iteration + 1
        if settings.eval_every and (done % settings.eval_every == 0 or done == settings.iterations):
            record(done)
            if on_snapshot is not None and done < settings.iterations and \
                    time.monotonic() - last_snapshot >= snapshot_every_s:
                on_snapshot(snapshot(done))
                last_snapshot = time.monotonic()
    if not settings.eval_every:
        record(settings.iterations)
    result.params = {name: p.detach() for name, p in state.items()}
    result.curves = {name: {metric: torch.stack(values, 1) for metric, values in curves.items()}
                     for name, curves in result.curves.items()}
    result.diverged = diverged
    return result


def train_in_chunks(model: PopulationModel, params: dict[str, torch.Tensor], masks: Masks,
                    settings: TrainSettings, train: Split, data_seeds: list[int], chunk: int,
                    evaluations: dict[str, Split] | None = None, progress: str | None = None,
                    eval_members: dict[str, torch.Tensor] | None = None,
                    track_best: str | None = None, resume: dict[str, Any] | None = None,
                    on_snapshot: Callable[[dict[str, Any]], None] | None = None,
                    snapshot_every_s: float = 600.0) -> TrainResult:
    """``train_population`` on consecutive groups of at most ``chunk`` members, joined into one result.

    Members are independent, so this gives the same result as one population up to floating-point
    rounding (and, for dropout/augmentation, random draws seeded per group). Snapshots (see
    ``train_population``) hold the finished groups' results and the running group's state."""
    members = len(data_seeds)
    resume = resume or {"parts": [], "current": None}
    parts: list[TrainResult] = list(resume["parts"])
    if chunk >= members:
        save = (lambda current: on_snapshot({"parts": [], "current": current})) if on_snapshot else None
        return train_population(model, params, masks, settings, train, data_seeds, evaluations, progress,
                                eval_members=eval_members, track_best=track_best, resume=resume["current"],
                                on_snapshot=save, snapshot_every_s=snapshot_every_s)
    eval_members = eval_members or {}
    pending = resume["current"]
    for start in range(len(parts) * chunk, members, chunk):
        stop = min(members, start + chunk)
        chunk_evals, local = members_slice_evaluations(evaluations, eval_members, start, stop)
        label = f"{progress} members {start + 1}-{stop}/{members}" if progress else None
        done = list(parts)
        save = (lambda current, done=done: on_snapshot({"parts": done, "current": current})) if on_snapshot else None
        parts.append(train_population(model, members_slice(params, start, stop), members_slice(masks, start, stop),
                                      settings, train,
                                      group_data_seeds(settings, data_seeds, start, stop), chunk_evals, label,
                                      eval_members=local,
                                      track_best=track_best, resume=pending, on_snapshot=save,
                                      snapshot_every_s=snapshot_every_s))
        pending = None
        if on_snapshot is not None and stop < members:
            on_snapshot({"parts": list(parts), "current": None})
    return join_results(parts, evaluations, track_best)


def group_data_seeds(settings: TrainSettings, data_seeds: list[int], start: int, stop: int) -> list[int]:
    """Data seeds for members ``start:stop`` trained as a group of their own: their own seeds, or with a
    shared batch order the population's first seed for all (so that every group sees the same batches)."""
    if settings.shared_data_order:
        return [data_seeds[0]] * (stop - start)
    return list(data_seeds[start:stop])


def members_slice(tensors: dict[str, torch.Tensor], start: int, stop: int) -> dict[str, torch.Tensor]:
    """Members ``start:stop`` of every stacked tensor (views)."""
    return {name: tensor[start:stop] for name, tensor in tensors.items()}


def members_slice_evaluations(evaluations: dict[str, Split] | None, eval_members: dict[str, torch.Tensor],
                              start: int, stop: int) -> tuple[dict[str, Split], dict[str, torch.Tensor]]:
    """The evaluations and ``eval_members`` (renumbered from 0) of members ``start:stop`` of a population:
    a split restricted to members of which none is in the slice is left out."""
    local = {name: (chosen[(chosen >= start) & (chosen < stop)] - start) for name, chosen in eval_members.items()}
    skip = {name for name, chosen in local.items() if chosen.numel() == 0}
    return ({name: split for name, split in (evaluations or {}).items() if name not in skip},
            {name: chosen for name, chosen in local.items() if name not in skip})


def join_results(parts: list[TrainResult], evaluations: dict[str, Split] | None,
                 track_best: str | None) -> TrainResult:
    """One result for a population trained as consecutive groups of members (``parts`` in member order)."""
    first = parts[0]
    joined = TrainResult(params={n: torch.cat([p.params[n] for p in parts]) for n in first.params},
                         eval_iterations=first.eval_iterations,
                         diverged=torch.cat([p.diverged for p in parts]))
    joined.curves = {name: {metric: torch.cat([p.curves[name][metric] for p in parts if name in p.curves])
                            for metric in ("loss", "accuracy")} for name in (evaluations or {})}
    if track_best is not None:
        joined.best_params = {n: torch.cat([p.best_params[n] for p in parts]) for n in first.best_params}
        joined.best_iteration = torch.cat([p.best_iteration for p in parts])
    return joined


def flip_and_crop(x: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """The standard CIFAR augmentation, on the device: each image [..., C, H, W] is flipped horizontally
    with probability 1/2 and cropped back to H x W at a random offset after zero-padding by ``pad`` pixels
    (zero = the mean pixel, since inputs are normalised)."""
    shape = x.shape
    images = x.reshape(-1, *shape[-3:])
    count, _, height, width = images.shape
    device = images.device
    flip = torch.rand(count, generator=generator, device=device) < 0.5
    images = torch.where(flip.view(-1, 1, 1, 1), images.flip(3), images)
    padded = F.pad(images, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (count, 1), generator=generator, device=device)
    dx = torch.randint(0, 2 * pad + 1, (count, 1), generator=generator, device=device)
    rows = (dy + torch.arange(height, device=device)).view(count, 1, height, 1)
    cols = (dx + torch.arange(width, device=device)).view(count, 1, 1, width)
    channels = torch.arange(images.shape[1], device=device).view(1, -1, 1, 1)
    batch = torch.arange(count, device=device).view(-1, 1, 1, 1)
    return padded[batch, channels, rows, cols].reshape(shape)


def early_stop(result: TrainResult, validation: str = "validation", test: str = "test") -> dict[str, torch.Tensor]:
    """Early-stop iteration (minimum validation loss) per member and the test accuracy there."""
    val_loss = result.curves[validation]["loss"]
    index = torch.nan_to_num(val_loss, nan=math.inf).argmin(1)
    iterations = torch.tensor(result.eval_iterations, device=index.device)[index]
    out = {"iteration": iterations}
    if test in result.curves:
        out["accuracy"] = result.curves[test]["accuracy"].gather(1, index.unsqueeze(1)).squeeze(1)
    return out
