"""Early-bird tickets (You et al. 2019, "Drawing Early-Bird Tickets") on a VGG with batch norm, CIFAR-10.

The search trains the dense VGG with network slimming's L1 penalty on the batch-norm scales and draws, at the
end of every epoch, the channel mask of each pruning ratio (a global threshold on |gamma|). The early-bird
ticket of a ratio is drawn at the first epoch whose mask is within ``epsilon`` (normalised Hamming distance)
of the masks of each of the ``window - 1`` epochs before it. The ticket (its weights at that epoch, its
pruned channels removed) is then retrained, next to the ticket pruned from the fully trained net (the
baseline: train, prune, retrain); both retrain for the same schedule on the same batches. The training cost
of each is counted in FLOPs from the surviving channels of every step that ran.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lth.config import ConfigError, setting
from lth.core.convnets import make_convnet
from lth.core.engine import TrainJob, TrainSettings, evaluate
from lth.core.slimming import (SlimmingPenalty, bn_scales, channel_masks, distance_matrix, early_bird_epoch,
                               is_early_bird, vgg_training_flops, weight_masks_from_channels)
from lth.data import DeviceData
from lth.shared.driver import StudyDriver, store, study_fingerprint
from lth.shared.groups import (ImagesGroup, InitGroup, NumericsGroup, SgdGroup, TrainingGroups, TrialsGroup,
                               paper_default)
from lth.shared.lottery import concat_members
from lth.shared.members import derive_seed
from lth.shared.population import ticket_init
from lth.shared.settings import check_batches_fit
from lth.shared.stage import NUMERICS, run_lottery_stage
from lth.shared.subsets import first_examples, population_chunk
from lth.shared.trajectory import train_recording
from lth.stage_run import StageRun, config_record


@dataclass(frozen=True)
class EarlyBirdConfig(TrainingGroups, ImagesGroup, InitGroup, SgdGroup, TrialsGroup, NumericsGroup):
    """VGG with batch norm on CIFAR-10, You et al.'s early-bird search and retraining (their settings)."""
    arch: str = setting("vgg16", "network: a VGG with batch norm (You et al.: VGG-16)", choices=("vgg16", "vgg19"))
    batch_size: int = setting(64, "minibatch size", min=1)
    lr: float = setting(0.1, "SGD learning rate (momentum 0.9)", min=0, min_exclusive=True)
    weight_decay: float = paper_default(SgdGroup, "weight_decay", 1e-4)
    augment: bool = paper_default(ImagesGroup, "augment", True)
    epochs: int = setting(160, "epochs of the search (the dense training)", min=1)
    lr_drop_epochs: list[int] = setting([80, 120], "epochs after which the rate is divided by 10 (search and "
                                        "retraining alike, scaled to the retraining's length)", min=1)
    l1: float = setting(1e-4, "network slimming's L1 penalty on the batch-norm scales", min=0)
    ratios: list[float] = setting([0.3, 0.5, 0.7], "channel pruning ratios whose masks the search draws", min=0,
                                  max=1, min_exclusive=True, max_exclusive=True)
    epsilon: float = setting(0.1, "early-bird threshold on the normalised mask distance", min=0, max=1)
    window: int = setting(5, "the latest mask is compared with the masks of the previous window - 1 epochs",
                          min=2)
    retrain_ratios: list[float] = setting([0.3, 0.5, 0.7], "ratios whose early-bird and after-training tickets "
                                          "are retrained", min=0, max=1, min_exclusive=True, max_exclusive=True,
                                          allow_empty=True)
    retrain_epochs: int = setting(160, "epochs of retraining a pruned net", min=1)
    seed: int = paper_default(TrialsGroup, "seed", 7)

    def check(self, prefix: str) -> None:
        """The rate drops fall inside the search; the retrained ratios are searched ratios."""
        if list(self.lr_drop_epochs) != sorted(set(self.lr_drop_epochs)) or self.lr_drop_epochs[-1] >= self.epochs:
            raise ConfigError(f"params.yaml: {prefix}.lr_drop_epochs = {self.lr_drop_epochs}: must increase and "
                              f"stay below {prefix}.epochs ({self.epochs})")
        missing = [r for r in self.retrain_ratios if r not in self.ratios]
        if missing:
            raise ConfigError(f"params.yaml: {prefix}.retrain_ratios contains {missing[0]}: not one of "
                              f"{prefix}.ratios ({self.ratios})")
        if self.window > self.epochs:
            raise ConfigError(f"params.yaml: {prefix}.window = {self.window}: must be at most {prefix}.epochs "
                              f"({self.epochs})")


def schedule(config: EarlyBirdConfig, epochs: int, per_epoch: int) -> TrainSettings:
    """SGD for ``epochs`` epochs, the rate divided by 10 at the config's drop epochs (scaled to ``epochs``),
    evaluated (and recorded) at the end of every epoch."""
    drops = tuple(sorted({max(1, round(e * epochs / config.epochs)) * per_epoch for e in config.lr_drop_epochs}))
    return config.to_train_settings(iterations=epochs * per_epoch, batch_size=config.batch_size, optimizer="sgd",
                                    lr=config.lr, lr_milestones=drops, eval_every=per_epoch)


class EarlyBirdRecorder:
    """Along the search: every member's batch-norm scales at the end of each epoch, and its whole weights at
    the epoch its early-bird ticket of each ratio is drawn (only those: a paper-size net's every epoch would
    not fit in memory)."""

    def __init__(self, scales: list[str], config: EarlyBirdConfig, members: int):
        self.scales, self.config = scales, config
        self.masks: dict[float, list[list[dict[str, torch.Tensor]]]] = {r: [[] for _ in range(members)]
                                                                         for r in config.ratios}
        self.drawn: dict[float, list[int | None]] = {r: [None] * members for r in config.ratios}
        self.weights: dict[float, list[dict[str, torch.Tensor] | None]] = {r: [None] * members for r in config.ratios}

    def __call__(self, state: dict[str, torch.Tensor], rows: range) -> dict[str, torch.Tensor]:
        for local, member in enumerate(rows):
            scales = {n: state[n][local:local + 1] for n in self.scales}
            for ratio in self.config.ratios:
                history = self.masks[ratio][member]
                history.append(channel_masks(scales, ratio))
                if self.drawn[ratio][member] is None and bool(is_early_bird(history, self.config.epsilon,
                                                                             self.config.window)[0]):
                    self.drawn[ratio][member] = len(history) - 1
                    self.weights[ratio][member] = {n: t[local:local + 1].detach().clone() for n, t in state.items()}
        return {n: state[n] for n in self.scales}


class EarlyBirdStudy:
    """The search of every trial, the early-bird epochs of every ratio, and the retrained tickets (a resumable
    study of two steps: search, retrain)."""

    def __init__(self, config: EarlyBirdConfig, data: DeviceData, device: torch.device, checkpoint: Path,
                 progress: bool = True):
        data = DeviceData(first_examples(data.train, config.train_examples, "early_bird.train_examples",
                                         "training"), data.validation, data.test, data.source_sha256)
        check_batches_fit("early_bird", config.batch_size, len(data.train))
        self.config, self.data, self.device, self.progress = config, data, device, progress
        self.model = make_convnet(config.arch, config.width)
        self.per_epoch = len(data.train) // config.batch_size
        self.settings = schedule(config, config.epochs, self.per_epoch)
        self.trials = config.trials
        _, self.init = ticket_init(self.model, config, device)
        self.driver = StudyDriver(checkpoint, study_fingerprint(config, data), "early bird", device, progress)
        self.scales = bn_scales(self.model)

    def _search(self) -> dict[str, Any]:
        """Train every trial's dense net with the L1 penalty: its scales at every epoch, its weights at each
        ratio's early-bird epoch and at the end, its test accuracy."""
        config, T = self.config, self.trials
        seeds = [derive_seed(config.seed, "data", "search", t) for t in range(T)]
        job = TrainJob(SlimmingPenalty(self.model, tuple(self.scales), config.l1), self.init, {}, self.settings,
                       self.data.train, seeds, progress="early-bird search" if self.progress else None)
        recorder = EarlyBirdRecorder(self.scales, config, T)
        result, scales = train_recording(job, recorder, population_chunk(self.device))
        final = dict(result.params)
        scales.append({n: final[n].clone() for n in self.scales})
        _, accuracy = evaluate(self.model, final, self.data.test)
        # a ticket first drawn at the last epoch: recorded from the final weights
        last = {r: early_bird_epoch([channel_masks(e, r) for e in scales], config.epsilon, config.window)
                for r in config.ratios}
        birds = {str(r): [{"epoch": epoch, "weights": (recorder.weights[r][t] if recorder.weights[r][t] is not None
                                                         else {n: w[t:t + 1] for n, w in final.items()})}
                          if epoch is not None else None for t, epoch in enumerate(last[r])]
                 for r in config.ratios}
        return {"scales": scales, "final": final, "birds": birds, "accuracy": [round(float(a), 6) for a in accuracy]}

    def _retrain(self, search: dict[str, Any]) -> dict[str, Any]:
        """Retrain, per retrained ratio and trial, the early-bird ticket and the after-training ticket (the
        same batches for both)."""
        config = self.config
        last = config.epochs - 1
        members, params, masks, seeds = [], [], [], []
        for ratio in config.retrain_ratios:
            for t in range(self.trials):
                bird = search["birds"][str(ratio)][t]
                candidates = [("after_training", last, {n: w[t:t + 1] for n, w in search["final"].items()})]
                if bird is not None:
                    candidates.insert(0, ("early_bird", bird["epoch"], bird["weights"]))
                for kind, epoch, weights in candidates:
                    channels = channel_masks({n: search["scales"][epoch][n][t:t + 1] for n in self.scales}, ratio)
                    members.append({"ratio": ratio, "trial": t, "kind": kind, "epoch": epoch,
                                    "kept_channels": int(sum(m.sum() for m in channels.values())),
                                    "step_flops": float(
                                        vgg_training_flops(self.model, channels, config.batch_size)[0])})
                    params.append(weights), masks.append(weight_masks_from_channels(self.model, channels))
                    seeds.append(derive_seed(config.seed, "data", "retrain", ratio, t))
        if not members:
            return {"members": [], "accuracy": []}
        settings = schedule(config, config.retrain_epochs, self.per_epoch)
        job = TrainJob(self.model, concat_members(params), concat_members(masks), settings, self.data.train, seeds,
                       progress="early-bird retraining" if self.progress else None)
        result, _ = train_recording(job, lambda state, rows: {}, population_chunk(self.device))
        _, accuracy = evaluate(self.model, result.params, self.data.test)
        return {"members": members, "accuracy": [round(float(a), 6) for a in accuracy]}

    def run(self) -> dict[str, Any]:
        """Search and retraining (resuming from the checkpoint after each), then the results."""
        state = self.driver.start(lambda: {"search": None, "retrain": None})
        self.driver.run([store("search", self._search), store("retrain", lambda: self._retrain(state["search"]))])
        return self._results(state["search"], state["retrain"])

    def _results(self, search: dict[str, Any], retrain: dict[str, Any]) -> dict[str, Any]:
        """Per ratio the mask distances over epochs and the early-bird epochs; per retrained ticket its
        accuracy and training FLOPs (search up to the epoch it was drawn + retraining)."""
        config, per_epoch = self.config, self.per_epoch
        dense_step = float(vgg_training_flops(self.model, None, config.batch_size)[0])
        ratios = {}
        for ratio in config.ratios:
            masks = [channel_masks(epoch, ratio) for epoch in search["scales"]]
            distances = distance_matrix(masks)                                       # [T, E, E]
            birds = search["birds"][str(ratio)]
            ratios[str(ratio)] = {
                "early_bird_epoch": [None if b is None else b["epoch"] + 1 for b in birds],
                "distances": [[[round(float(v), 5) for v in row] for row in d] for d in distances]}
        retrained = []
        for member, accuracy in zip(retrain["members"], retrain["accuracy"]):
            search_flops = (member["epoch"] + 1) * per_epoch * dense_step
            retrain_flops = config.retrain_epochs * per_epoch * member["step_flops"]
            retrained.append({**member, "drawn_at_epoch": member["epoch"] + 1, "accuracy": accuracy,
                              "search_flops": search_flops, "retrain_flops": retrain_flops,
                              "total_flops": search_flops + retrain_flops})
        return {"epochs": config.epochs, "iterations_per_epoch": per_epoch, "dense_step_flops": dense_step,
                "channels": sum(self.init[n].shape[1] for n in self.scales), "search_accuracy": search["accuracy"],
                "ratios": ratios, "retrained": retrained}



SECTIONS = {"early_bird": EarlyBirdConfig, **NUMERICS}


def stage(run: StageRun) -> str:
    """The early-bird search and retraining on VGG; writes results/early_bird/vgg.json and its timing file
    (resuming from checkpoints/early_bird/ after a kill)."""
    loaded = run.section("early_bird", EarlyBirdConfig)
    config, out = loaded.config, run.results / "early_bird"
    checkpoint = run.checkpoints / "early_bird" / "vgg.pt"
    results = run_lottery_stage(lambda data, device: EarlyBirdStudy(config, data, device, checkpoint), run,
                                "cifar10", out / "vgg.json", out / "timing.json", checkpoint,
                                lambda study: config_record(loaded))
    birds = {ratio: r["early_bird_epoch"] for ratio, r in results["ratios"].items()}
    return f"early-bird epochs per ratio {birds} of {config.epochs}; {len(results['retrained'])} tickets retrained"
