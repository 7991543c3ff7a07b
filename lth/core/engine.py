"""The population engine: train K same-shaped models in lock-step, each with its own mask, init and seed.

Members are stacked along a leading axis, so one optimizer step updates every member; the summed loss
gives each member exactly its own gradient. Pruned weights are exactly zero after every step: they start
at zero and the model masks their gradients in the backward pass, so the optimizer's state and update stay
zero there.

A training is described once (``TrainJob``) and trained by ``train_population`` (one population),
``train_in_groups`` / ``train_in_chunks`` (consecutive groups of members one after another, for nets and
devices where one big population does not pay) or ``lth.core.processes.train_in_processes`` (groups spread
over worker processes). All three share one snapshot schema (``GroupSnapshot``), so a snapshot taken by
one resumes in another. The loop itself (``PopulationRun``) is a plan of small named steps: restore or
start, step, record (evaluate, track the best weights), snapshot, finish. A training step never waits for
the device: divergence and best-weight tracking are device-side selections.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from lth.core import cpu_fastpath, sparse_products
from lth.core.augment import flip_and_crop
from lth.core.masks import Masks, apply_masks
from lth.core.models import population_correct, population_loss
from lth.core.optimizer import PopulationOptimizer
from lth.data import Split

__all__ = ["TrainSettings", "TrainJob", "TrainResult", "PopulationRun", "train_population", "train_in_groups",
           "train_in_chunks", "chunk_ranges", "evaluate", "early_stop", "BatchSampler", "Split"]


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
    patience: int = 0                    # a member stops once its tracked loss has not improved for this
                                         # many iterations (0 = every member trains all ``iterations``)
    sparse_below: float = 0.0            # CPU: a member whose mask keeps at most this fraction of a layer
                                         # takes sparse products there (``sparse_products``; 0 = never)

    def lr_factor(self, iteration: int) -> float:
        """Learning-rate multiplier at ``iteration`` (0-based): linear warmup, then step decay."""
        factor = self.lr_gamma ** sum(iteration >= m for m in self.lr_milestones)
        if self.warmup_iterations and iteration < self.warmup_iterations:
            factor *= (iteration + 1) / self.warmup_iterations
        return factor


@dataclass(frozen=True)
class TrainJob:
    """One training of a population: what to train, on what, and what to measure.

    ``data_seeds[k]`` fixes member k's batch order. ``evaluations`` are evaluated every ``eval_every``
    iterations (and at the end), giving curves [K, T]; ``eval_members[name]`` restricts a split's evaluation
    to some members (index tensor; curves then have one row per listed member). ``track_best`` names a split
    (evaluated for all members) whose minimum loss defines each member's early-stop point: the weights there
    are kept in ``best_params``. ``stop_test``: a split whose accuracy at the early-stop point and at the end
    each group computes as soon as it has trained (``TrainResult.test_at_stop`` / ``final_test``), in the
    process that trained it. ``progress`` labels a progress bar (None: no bar)."""
    model: Any
    params: dict[str, torch.Tensor]
    masks: Masks
    settings: TrainSettings
    train: Split
    data_seeds: list[int]
    evaluations: dict[str, Split] = field(default_factory=dict)
    eval_members: dict[str, torch.Tensor] = field(default_factory=dict)
    track_best: str | None = None
    stop_test: Split | None = None
    progress: str | None = None

    @property
    def members(self) -> int:
        """K, the population size."""
        return len(self.data_seeds)

    def members_slice(self, start: int, stop: int, progress: str | None = None) -> "TrainJob":
        """The same job for members ``start:stop`` only, as a population of its own: their parameters and
        masks (views), their data seeds (with a shared batch order, the population's first seed for all, so
        that every group sees the same batches), and the evaluations of theirs (renumbered from 0; a split
        restricted to members none of which is in the slice is left out)."""
        return self._subset(list(range(start, stop)), lambda tensors: members_slice(tensors, start, stop), progress)

    def members_select(self, members: list[int], progress: str | None = None) -> "TrainJob":
        """``members_slice`` for any ascending list of member indices (copies instead of views)."""
        index = torch.tensor(members, dtype=torch.long, device=next(iter(self.params.values())).device)
        return self._subset(members, lambda tensors: {n: t[index] for n, t in tensors.items()}, progress)

    def _subset(self, members: list[int], take: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]],
                progress: str | None) -> "TrainJob":
        position = {member: k for k, member in enumerate(members)}
        local = {name: torch.tensor([position[c] for c in chosen.tolist() if c in position], dtype=torch.long,
                                    device=chosen.device)
                 for name, chosen in self.eval_members.items()}
        skip = {name for name, chosen in local.items() if chosen.numel() == 0}
        seeds = ([self.data_seeds[0]] * len(members) if self.settings.shared_data_order
                 else [self.data_seeds[m] for m in members])
        return replace(self, params=take(self.params), masks=take(self.masks), data_seeds=seeds,
                       evaluations={n: s for n, s in self.evaluations.items() if n not in skip},
                       eval_members={n: c for n, c in local.items() if n not in skip}, progress=progress)

    def curve_width(self, split: str) -> int:
        """Rows of the curves of ``split``: its listed members, or every member."""
        chosen = self.eval_members.get(split)
        return self.members if chosen is None else chosen.numel()


def members_slice(tensors: dict[str, torch.Tensor], start: int, stop: int) -> dict[str, torch.Tensor]:
    """Members ``start:stop`` of every stacked tensor (views)."""
    return {name: tensor[start:stop] for name, tensor in tensors.items()}


@dataclass
class TrainResult:
    """Per-member outcome of training: final parameters and evaluation curves."""
    params: dict[str, torch.Tensor]
    eval_iterations: list[int] = field(default_factory=list)
    curves: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)  # split -> loss/accuracy [K, T]
    diverged: torch.Tensor | None = None                                       # [K] bool
    best_params: dict[str, torch.Tensor] | None = None   # each member's weights at its minimum tracked loss
    best_iteration: torch.Tensor | None = None           # [K] iteration of that minimum (early stop)
    stopped_iteration: torch.Tensor | None = None        # [K] iterations each member trained (``patience``)
    test_at_stop: torch.Tensor | None = None             # [K] accuracy on the job's ``stop_test`` at early stop
    final_test: torch.Tensor | None = None               # [K] ... and with the final weights

    def to_state(self) -> dict[str, Any]:
        """Plain containers and tensors (for snapshots and worker pipes, loadable with weights_only)."""
        return {"params": self.params, "eval_iterations": list(self.eval_iterations), "curves": self.curves,
                "diverged": self.diverged, "best_params": self.best_params, "best_iteration": self.best_iteration,
                "stopped_iteration": self.stopped_iteration, "test_at_stop": self.test_at_stop,
                "final_test": self.final_test}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "TrainResult":
        """The result that ``to_state`` described."""
        return cls(**state)


@torch.no_grad()
def evaluate(model: Any, params: dict[str, torch.Tensor], split: Split,
             chunk: int = 10000) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean loss [K] and accuracy [K] of every member on ``split``, in chunks of examples."""
    total_loss = None
    correct = None
    chunk = min(chunk, getattr(model, "eval_chunk", chunk))
    for start in range(0, len(split), chunk):
        x, y = split.x[start:start + chunk], split.y[start:start + chunk]
        logits = forward_in_row_blocks(model, params, x)
        loss = population_loss(logits, y) * len(y)
        hits = population_correct(logits, y)
        total_loss = loss if total_loss is None else total_loss + loss
        correct = hits if correct is None else correct + hits
    return total_loss / len(split), correct.double() / len(split)


def forward_in_row_blocks(model: Any, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``model.forward(params, x)`` on a CPU computed ``model.forward_rows`` examples at a time (where the model
    sets it) and joined: every example's logits are the same bits either way (tests/test_engine.py), while the
    products of a few hundred rows keep their operands near the cache (LeNet's validation pass is faster:
    docs/measurements.md, session 27). The loss is then taken over the joined logits, as before."""
    rows = getattr(model, "forward_rows", None)
    if rows is None or x.device.type != "cpu" or x.dim() != 2 or len(x) <= rows:
        return model.forward(params, x)
    return torch.cat([model.forward(params, x[start:start + rows]) for start in range(0, len(x), rows)], dim=1)


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
            orders = torch.stack([torch.randperm(self.size, generator=g) for g in self.generators])
            if self.device.type == "cuda":        # an asynchronous copy: the step does not wait for it
                orders = orders.pin_memory()
            self.orders = orders.to(self.device, non_blocking=True)
            self.position = 0
        batch = self.orders[:, self.position:self.position + self.batch_size]
        self.position += self.batch_size
        return batch

    def state(self) -> dict[str, Any]:
        """Everything needed to continue the same batch sequence later (see ``load_state``)."""
        return {"generators": [g.get_state() for g in self.generators], "orders": self.orders,
                "position": self.position}

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue the batch sequence that ``state`` describes."""
        for generator, saved in zip(self.generators, state["generators"]):
            generator.set_state(saved.cpu())          # CPU generators, whatever device the state was mapped to
        self.orders, self.position = state["orders"], state["position"]


def _member_view(flags: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return flags.view(-1, *([1] * (like.dim() - 1)))


class PopulationRun:
    """The state of one population's training and its steps (see ``train_population`` for the plan).

    A member whose loss becomes NaN/inf is marked diverged: its loss counts as zero, the optimizer freezes
    its weights, and its curves read NaN from then on, while the other members train on unaffected.

    With ``settings.patience`` a member stops training (``retire``) once its tracked loss has not improved
    for that many iterations, or when it diverged: the population shrinks to the members still training,
    each of which goes on with exactly the arithmetic, batches and state it had (so its results are those
    of the full-length run up to its own stop; dropout draws, made for the whole population at once, are
    the exception). Curves keep one row per member and read NaN after a member stopped."""

    def __init__(self, job: TrainJob):
        if len(job.data_seeds) != next(iter(job.params.values())).shape[0]:
            raise ValueError(f"need one data seed per member: got {len(job.data_seeds)} for "
                             f"{next(iter(job.params.values())).shape[0]} members")
        if job.settings.patience and job.track_best is None:
            raise ValueError("patience needs a tracked split (track_best) whose loss decides when a member stops")
        cpu_fastpath.keep_large_allocations_on_heap()
        self.full_job = job
        self.members = list(range(job.members))        # the members still training, in population order
        self.outcome: dict[str, Any] | None = None     # rows of the members that stopped (see ``retire``)
        self.result = TrainResult(params={}, curves={name: {"loss": [], "accuracy": []} for name in job.evaluations})
        self._train_members(job)

    def _train_members(self, job: TrainJob) -> None:
        """Set up the trainable state, optimizer, masks, batch sampler and best-weight tracking of ``job``
        (the whole population, or the members still training)."""
        self.job, settings, train = job, job.settings, job.train
        self.optimizer = PopulationOptimizer(job.params, set(getattr(job.model, "buffer_names", ())), settings)
        self.state = self.optimizer.state
        apply_masks(self.state, job.masks)
        # Masks as multipliers of the parameters' dtype: multiplying by a bool tensor takes a slow
        # type-promoting path.
        self.grad_masks = {name: mask.to(self.state[name].dtype) for name, mask in job.masks.items()}
        self.sparse_layouts = (sparse_products.layouts_for(self.state, self.grad_masks, settings.sparse_below)
                               if settings.sparse_below > 0 else {})
        # Dropout draws from torch's global generator and augmentation from its own: seed both from the
        # members' data seeds so that a run (and a resumed run) is reproducible.
        torch.manual_seed(job.data_seeds[0])
        device = train.x.device
        self.augment = torch.Generator(device).manual_seed(job.data_seeds[0]) if settings.augment else None
        self.full_batch = settings.batch_size <= 0 or settings.batch_size >= len(train)
        self.sampler = None if self.full_batch else BatchSampler(len(train), settings.batch_size, job.data_seeds,
                                                                 settings.shared_data_order, device)
        members = job.members
        self.diverged = torch.zeros(members, dtype=torch.bool, device=device)
        self.best_loss = torch.full((members,), math.inf, dtype=torch.float64, device=device)
        if job.track_best is not None:
            self.result.best_params = {name: p.detach().clone() for name, p in self.state.items()}
            self.result.best_iteration = torch.zeros(members, dtype=torch.long, device=device)
        # Where each split's evaluated members sit in its curve rows (None: every row, in order).
        self.curve_rows: dict[str, torch.Tensor | None] = {}
        everyone = len(self.members) == self.full_job.members
        for name in self.full_job.evaluations:
            chosen = self.full_job.eval_members.get(name)
            if everyone:
                self.curve_rows[name] = None
            elif chosen is None:
                self.curve_rows[name] = torch.tensor(self.members, dtype=torch.long, device=device)
            else:
                training = set(self.members)
                self.curve_rows[name] = torch.tensor([row for row, member in enumerate(chosen.tolist())
                                                      if member in training], dtype=torch.long, device=device)

    # ----------------------------------------------------------------------------------------- steps
    def start(self) -> int:
        """Begin from the initial weights (evaluated first when there is a schedule); returns iteration 0."""
        if self.job.settings.eval_every:
            self.record(0)
        return 0

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next training batch: [B, ...] shared by all members or [K, B, ...], augmented if asked."""
        train = self.job.train
        if self.full_batch:
            x, y = train.x, train.y
        else:
            index = self.sampler.next()
            x, y = train.x[index], train.y[index]
            if x.shape[0] == 1:
                x, y = x[0], y[0]
        if self.augment is not None:
            x = flip_and_crop(x, self.augment)
        return x, y

    def step(self, iteration: int) -> None:
        """One optimizer step of every member (diverged members frozen)."""
        settings = self.job.settings
        x, y = self.batch()
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=settings.mixed_precision):
            losses = population_loss(self.job.model.forward(self.state, x, training=True,
                                                            grad_masks=self.grad_masks), y)
        self.diverged |= ~torch.isfinite(losses)
        losses = torch.where(self.diverged, torch.zeros_like(losses), losses)
        self.optimizer.freeze(self.diverged)
        for group in self.optimizer.param_groups:
            group["lr"] = settings.lr * settings.lr_factor(iteration)
        # Fresh gradient tensors each step: saves zeroing and accumulating into old ones (two memory passes).
        # Weights with in-backward updates (cpu_fastpath) are updated during the backward pass.
        self.optimizer.zero_grad()
        losses.sum().backward()
        # No re-masking of the weights after the step: a pruned weight starts at 0 and its gradient is
        # always 0, so Adam's moments stay 0 and its update is exactly 0 (SGD: momentum and weight decay of
        # a zero weight are 0 too). tests/test_engine.py checks that pruned weights stay exactly zero.
        self.optimizer.step()

    def is_eval_point(self, done: int) -> bool:
        """Whether the evaluation schedule evaluates after ``done`` iterations."""
        every, last = self.job.settings.eval_every, self.job.settings.iterations
        return bool(every) and (done % every == 0 or done == last)

    def record(self, iteration: int) -> None:
        """Evaluate every split at ``iteration`` and keep the best weights of the tracked split."""
        job, result = self.job, self.result
        result.eval_iterations.append(iteration)
        for name in self.full_job.evaluations:
            if name not in job.evaluations:           # none of its members is still training
                nothing = torch.full((self.full_job.curve_width(name),), float("nan"), dtype=torch.float64,
                                     device=self.diverged.device)
                result.curves[name]["loss"].append(nothing)
                result.curves[name]["accuracy"].append(nothing)
                continue
            split, chosen = job.evaluations[name], job.eval_members.get(name)
            if chosen is None:
                loss, accuracy = evaluate(job.model, self.state, split)
                gone = self.diverged
            else:
                loss, accuracy = evaluate(job.model, {n: p[chosen] for n, p in self.state.items()}, split)
                gone = self.diverged[chosen]
            loss = torch.where(gone, float("nan"), loss)
            result.curves[name]["loss"].append(self._curve_row(name, loss))
            result.curves[name]["accuracy"].append(self._curve_row(name, torch.where(gone, float("nan"), accuracy)))
            if name == job.track_best:
                self.track_best(iteration, loss)

    def _curve_row(self, split: str, values: torch.Tensor) -> torch.Tensor:
        """The curve row of ``split`` at one evaluation: the training members' ``values``, NaN elsewhere."""
        rows = self.curve_rows[split]
        if rows is None:
            return values
        row = torch.full((self.full_job.curve_width(split),), float("nan"), dtype=values.dtype, device=values.device)
        return row.index_copy_(0, rows, values)

    @torch.no_grad()
    def track_best(self, iteration: int, loss: torch.Tensor) -> None:
        """Members whose ``loss`` is below their best so far keep these weights as their early-stop point."""
        result = self.result
        loss = loss.double()
        better = torch.nan_to_num(loss, nan=math.inf) < self.best_loss
        self.best_loss.copy_(torch.where(better, loss, self.best_loss))
        result.best_iteration.copy_(torch.where(better, iteration, result.best_iteration))
        for key, p in self.state.items():
            best = result.best_params[key]
            best.copy_(torch.where(_member_view(better, best), p, best))

    def retire(self, done: int) -> bool:
        """At an evaluation point: stop the members whose tracked loss has not improved for ``patience``
        iterations, and those that diverged; train on with the others only. Returns whether the population
        changed (the caller re-registers the optimizer's in-backward updates). One host sync per call (the
        only one of the loop), so only with ``patience`` set."""
        patience = self.job.settings.patience
        if not patience or not self.members:
            return False
        stopping = self.diverged | (done - self.result.best_iteration >= patience)
        leaving = stopping.nonzero().flatten().tolist()
        if not leaving:
            return False
        self._keep_outcome(leaving, done)
        staying = [k for k in range(len(self.members)) if k not in set(leaving)]
        if not staying:
            self.members = []
            return True
        self.restore(self._subset_snapshot(self.snapshot(done), staying))
        return True

    @torch.no_grad()
    def _keep_outcome(self, local: list[int], done: int) -> None:
        """Store the final and best weights, early-stop point and stop of local members ``local``."""
        full, device = self.full_job, self.diverged.device
        if self.outcome is None:
            self.outcome = {"params": {n: torch.zeros_like(p, device=device) for n, p in full.params.items()},
                            "best_params": {n: torch.zeros_like(p, device=device) for n, p in full.params.items()},
                            "best_iteration": torch.zeros(full.members, dtype=torch.long, device=device),
                            "diverged": torch.zeros(full.members, dtype=torch.bool, device=device),
                            "stopped_iteration": torch.full((full.members,), full.settings.iterations,
                                                            dtype=torch.long, device=device)}
        rows = torch.tensor([self.members[k] for k in local], dtype=torch.long, device=device)
        index = torch.tensor(local, dtype=torch.long, device=device)
        outcome = self.outcome
        for name, value in self.state.items():
            outcome["params"][name].index_copy_(0, rows, value.detach()[index])
            outcome["best_params"][name].index_copy_(0, rows, self.result.best_params[name][index])
        outcome["best_iteration"].index_copy_(0, rows, self.result.best_iteration[index])
        outcome["diverged"].index_copy_(0, rows, self.diverged[index])
        outcome["stopped_iteration"].index_fill_(0, rows, done)

    def _subset_snapshot(self, snapshot: dict[str, Any], local: list[int]) -> dict[str, Any]:
        """``snapshot`` of this run restricted to its local members ``local`` (the others have stopped)."""
        index = torch.tensor(local, dtype=torch.long, device=self.diverged.device)
        sampler = snapshot["sampler"]
        if sampler is not None and len(sampler["generators"]) > 1:
            sampler = {"generators": [sampler["generators"][k] for k in local], "position": sampler["position"],
                       "orders": sampler["orders"][index] if sampler["orders"] is not None else None}
        return {**snapshot, "members": [self.members[k] for k in local],
                "state": {n: p.detach()[index] for n, p in snapshot["state"].items()},
                "optimizer": self.optimizer.members_state_dict(local), "sampler": sampler,
                "diverged": snapshot["diverged"][index], "best_loss": snapshot["best_loss"][index],
                "best_params": ({n: p[index] for n, p in snapshot["best_params"].items()}
                                if snapshot["best_params"] is not None else None),
                "best_iteration": (snapshot["best_iteration"][index]
                                   if snapshot["best_iteration"] is not None else None)}

    def snapshot(self, done: int) -> dict[str, Any]:
        """The loop's whole state after ``done`` iterations (tensors and plain containers only)."""
        device = self.diverged.device
        return {"iteration": done, "state": self.state, "optimizer": self.optimizer.state_dict(),
                "sampler": self.sampler.state() if self.sampler is not None else None,
                "augment": self.augment.get_state() if self.augment is not None else None,
                "rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                "diverged": self.diverged, "best_loss": self.best_loss, "best_params": self.result.best_params,
                "best_iteration": self.result.best_iteration, "eval_iterations": self.result.eval_iterations,
                "curves": self.result.curves, "members": list(self.members), "outcome": self.outcome}

    def restore(self, snapshot: dict[str, Any]) -> int:
        """Continue from a ``snapshot`` (taken on this or another device; not modified); returns its iteration."""
        snapshot = copy.deepcopy(snapshot)
        device = self.diverged.device
        members = snapshot.get("members", self.members)
        if list(members) != self.members:             # some members had stopped: train the others only
            self.members = list(members)
            self._train_members(self.full_job.members_select(self.members))
        outcome = snapshot.get("outcome")
        self.outcome = None if outcome is None else {
            key: ({n: p.to(device) for n, p in value.items()} if isinstance(value, dict) else value.to(device))
            for key, value in outcome.items()}
        with torch.no_grad():
            for name, value in snapshot["state"].items():
                self.state[name].copy_(value)
        self.optimizer.load_state_dict(snapshot["optimizer"])
        if self.sampler is not None:
            sampler = dict(snapshot["sampler"])
            sampler["orders"] = sampler["orders"].to(device) if sampler["orders"] is not None else None
            self.sampler.load_state(sampler)
        if self.augment is not None:
            self.augment.set_state(snapshot["augment"].cpu())
        torch.set_rng_state(snapshot["rng"].cpu())
        if device.type == "cuda" and snapshot["cuda_rng"] is not None:
            torch.cuda.set_rng_state(snapshot["cuda_rng"].cpu(), device)
        self.diverged.copy_(snapshot["diverged"])
        self.best_loss.copy_(snapshot["best_loss"])
        result = self.result
        if snapshot["best_params"] is not None:
            result.best_params = {n: p.to(device) for n, p in snapshot["best_params"].items()}
            result.best_iteration = snapshot["best_iteration"].to(device)
        result.eval_iterations = list(snapshot["eval_iterations"])
        result.curves = {name: {metric: [v.to(device) for v in values] for metric, values in curves.items()}
                         for name, curves in snapshot["curves"].items()}
        return snapshot["iteration"]

    def progress_bar(self, first: int) -> Any:
        """A bar over iterations ``first`` .. last when the job has a label (advanced by ``update``)."""
        iterations = self.job.settings.iterations
        return tqdm(desc=self.job.progress, disable=self.job.progress is None, leave=False, mininterval=1.0,
                    unit="it", initial=first, total=iterations)

    def finish(self) -> TrainResult:
        """The final weights and the curves as [K, T] tensors (members that stopped early: as they stopped)."""
        if not self.job.settings.eval_every:
            self.record(self.job.settings.iterations)
        result = self.result
        last = self.job.settings.iterations
        if self.outcome is None:
            result.params = {name: p.detach() for name, p in self.state.items()}
            result.diverged = self.diverged
            result.stopped_iteration = torch.full_like(self.diverged, last, dtype=torch.long)
        else:
            if self.members:
                self._keep_outcome(list(range(len(self.members))), last)
            outcome = self.outcome
            result.params, result.diverged = outcome["params"], outcome["diverged"]
            result.stopped_iteration = outcome["stopped_iteration"]
            if self.job.track_best is not None:
                result.best_params, result.best_iteration = outcome["best_params"], outcome["best_iteration"]
        result.curves = {name: {metric: torch.stack(values, 1) for metric, values in curves.items()}
                         for name, curves in result.curves.items()}
        return result


class SnapshotClock:
    """Hands the loop's state to ``on_snapshot`` at an evaluation point at least ``every_s`` seconds after
    the previous one."""

    def __init__(self, on_snapshot: Callable[[dict[str, Any]], None] | None, every_s: float):
        self.on_snapshot, self.every_s, self.last = on_snapshot, every_s, time.monotonic()

    def maybe(self, take: Callable[[], dict[str, Any]]) -> None:
        """Take and hand over a snapshot if one is due."""
        if self.on_snapshot is not None and time.monotonic() - self.last >= self.every_s:
            self.on_snapshot(take())
            self.last = time.monotonic()


def train_population(job: TrainJob, resume: dict[str, Any] | None = None,
                     on_snapshot: Callable[[dict[str, Any]], None] | None = None,
                     snapshot_every_s: float = 600.0) -> TrainResult:
    """Train every member of ``job`` from its params (not modified) under its masks.

    Long trainings can be interrupted: at an evaluation point at least ``snapshot_every_s`` seconds after
    the previous snapshot, ``on_snapshot`` receives the loop's whole state (``PopulationRun.snapshot``);
    passing it back as ``resume`` continues exactly where it stopped."""
    run = PopulationRun(job)
    with sparse_products.registered(run.sparse_layouts):      # the evaluation at iteration 0 too
        done = run.restore(resume) if resume is not None else run.start()
    clock = SnapshotClock(on_snapshot, snapshot_every_s)
    last = job.settings.iterations
    bar = run.progress_bar(done)
    while done < last and run.members:
        changed = False
        with cpu_fastpath.updates_in_backward(run.optimizer.backward_updates()), \
                sparse_products.registered(run.sparse_layouts):
            while done < last and not changed:
                run.step(done)
                done += 1
                bar.update(1)
                if run.is_eval_point(done):
                    run.record(done)
                    if done < last:
                        changed = run.retire(done)
                        if changed and job.progress is not None:
                            bar.set_postfix_str(f"{len(run.members)}/{job.members} training", refresh=False)
                        if run.members:
                            clock.maybe(lambda: run.snapshot(done))
    bar.close()
    return accuracies_at_stop(job, run.finish())


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    """Whether two populations' tensors (weights and buffers) are equal bit for bit: every member's
    early-stop point is its last iteration, so the final test accuracy is the one at early stop (a short
    run evaluated only at its end, VGG-19 and ResNet-20 at ``quick``) and need not be computed twice."""
    return a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)


def stop_and_final_accuracies(model: Any, result: TrainResult, split: Split) -> tuple[torch.Tensor, torch.Tensor]:
    """Every member's accuracy [K] on ``split`` at its early-stop point and with its final weights (one
    evaluation where the two are the same weights)."""
    best = result.best_params if result.best_params is not None else result.params
    at_stop = evaluate(model, best, split)[1]
    return at_stop, (at_stop if same_weights(best, result.params) else evaluate(model, result.params, split)[1])


def accuracies_at_stop(job: TrainJob, result: TrainResult) -> TrainResult:
    """``result`` with its members' ``stop_and_final_accuracies`` on ``job.stop_test``, if the job asks for them."""
    if job.stop_test is not None:
        result.test_at_stop, result.final_test = stop_and_final_accuracies(job.model, result, job.stop_test)
    return result


# ------------------------------------------------------------------------------------- groups of members
# A group snapshot, the one schema of interrupted trainings of every kind: {"ranges": [[start, stop], ...],
# "groups": [None | {"snapshot": PopulationRun.snapshot} | {"result": TrainResult.to_state()}, ...]}.
GroupSnapshot = dict[str, Any]


def chunk_ranges(start: int, stop: int, chunk: int) -> list[list[int]]:
    """Consecutive [start, stop) ranges of at most ``chunk`` members covering ``start:stop``."""
    return [[s, min(stop, s + chunk)] for s in range(start, stop, max(1, chunk))]


def group_label(job: TrainJob, start: int, stop: int, ranges: list[list[int]]) -> str | None:
    """The progress label of one group (the job's own when it is trained whole)."""
    if job.progress is None or len(ranges) == 1:
        return job.progress
    return f"{job.progress} members {start + 1}-{stop}/{job.members}"


def train_group(job: TrainJob, ranges: list[list[int]], index: int, saved: dict[str, Any] | None,
                on_snapshot: Callable[[dict[str, Any]], None] | None, snapshot_every_s: float,
                progress: bool = True) -> TrainResult:
    """Train group ``index`` of ``ranges`` (from its snapshot ``saved`` if it has one)."""
    start, stop = ranges[index]
    part = job.members_slice(start, stop, group_label(job, start, stop, ranges) if progress else None)
    return train_population(part, resume=saved["snapshot"] if saved and "snapshot" in saved else None,
                            on_snapshot=on_snapshot, snapshot_every_s=snapshot_every_s)


def train_in_groups(job: TrainJob, ranges: list[list[int]], resume: GroupSnapshot | None = None,
                    on_snapshot: Callable[[GroupSnapshot], None] | None = None,
                    snapshot_every_s: float = 600.0) -> TrainResult:
    """``train_population`` on consecutive groups of members (``ranges``), one after another, joined into
    one result. Members are independent, so this gives each member the result it gets in one population
    (for dropout/augmentation the random draws are seeded per group). A snapshot holds every group's state:
    finished groups' results and the running group's loop state."""
    if resume is not None:
        ranges = [list(r) for r in resume["ranges"]]
    check_ranges(ranges, job.members)
    groups: list[dict[str, Any] | None] = list(resume["groups"]) if resume is not None else [None] * len(ranges)
    train_listed_groups(job, ranges, groups, list(range(len(ranges))), on_snapshot, snapshot_every_s)
    return join_results([TrainResult.from_state(g["result"]) for g in groups], job)


def train_listed_groups(job: TrainJob, ranges: list[list[int]], groups: list[dict[str, Any] | None],
                        indices: list[int], on_snapshot: Callable[[GroupSnapshot], None] | None,
                        snapshot_every_s: float) -> None:
    """Train the unfinished groups ``indices`` of ``ranges`` one after another in this process, each from
    its saved state in ``groups`` (updated in place: a finished group holds its result). Snapshots carry
    every group's latest state, while some group is unfinished."""
    for index in indices:
        saved = groups[index]
        if saved is not None and "result" in saved:
            continue

        def save(state: dict[str, Any], index: int = index) -> None:
            groups[index] = {"snapshot": state}
            on_snapshot({"ranges": ranges, "groups": list(groups)})

        result = train_group(job, ranges, index, saved, save if on_snapshot else None, snapshot_every_s)
        groups[index] = {"result": result.to_state()}
        if on_snapshot is not None and any(g is None or "result" not in g for g in groups):
            on_snapshot({"ranges": ranges, "groups": list(groups)})


def train_in_chunks(job: TrainJob, chunk: int, resume: GroupSnapshot | None = None,
                    on_snapshot: Callable[[GroupSnapshot], None] | None = None,
                    snapshot_every_s: float = 600.0) -> TrainResult:
    """``train_in_groups`` over groups of at most ``chunk`` members."""
    return train_in_groups(job, chunk_ranges(0, job.members, chunk), resume, on_snapshot, snapshot_every_s)


def check_ranges(ranges: list[list[int]], members: int) -> None:
    """Refuse group ranges that do not tile ``0:members`` (e.g. a snapshot of another population)."""
    expected = 0
    for start, stop in ranges:
        if start != expected or stop <= start:
            break
        expected = stop
    if expected != members or not ranges:
        raise ValueError(f"the snapshot's member groups {ranges} do not cover the population's {members} members")


def join_results(parts: list[TrainResult], job: TrainJob) -> TrainResult:
    """One result for a population trained as consecutive groups of members (``parts`` in member order).
    A group whose members all stopped early (``patience``) has shorter curves: they are padded with NaN."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    iterations = max((p.eval_iterations for p in parts), key=len)

    def padded(curve: torch.Tensor) -> torch.Tensor:
        missing = len(iterations) - curve.shape[1]
        return curve if not missing else torch.cat([curve, curve.new_full((curve.shape[0], missing), math.nan)], 1)

    joined = TrainResult(params={n: torch.cat([p.params[n] for p in parts]) for n in first.params},
                         eval_iterations=list(iterations), diverged=torch.cat([p.diverged for p in parts]))
    joined.curves = {name: {metric: torch.cat([padded(p.curves[name][metric]) for p in parts if name in p.curves])
                            for metric in ("loss", "accuracy")} for name in job.evaluations}
    if job.track_best is not None:
        joined.best_params = {n: torch.cat([p.best_params[n] for p in parts]) for n in first.best_params}
        joined.best_iteration = torch.cat([p.best_iteration for p in parts])
    for name in ("stopped_iteration", "test_at_stop", "final_test"):
        if all(getattr(p, name) is not None for p in parts):
            setattr(joined, name, torch.cat([getattr(p, name) for p in parts]))
    return joined


def early_stop(result: TrainResult, validation: str = "validation", test: str = "test") -> dict[str, torch.Tensor]:
    """Early-stop iteration (minimum validation loss) per member and the test accuracy there."""
    val_loss = result.curves[validation]["loss"]
    index = torch.nan_to_num(val_loss, nan=math.inf).argmin(1)
    iterations = torch.tensor(result.eval_iterations, device=index.device)[index]
    out = {"iteration": iterations}
    if test in result.curves:
        out["accuracy"] = result.curves[test]["accuracy"].gather(1, index.unsqueeze(1)).squeeze(1)
    return out
