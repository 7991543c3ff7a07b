"""Late rewinding and linear mode connectivity (Frankle et al., beyond the seeds) for VGG-19 and ResNet-20 at
learning rate 0.1: IMP whose survivors are rewound to their values at iteration k (k = 0 is the LTH), against
random reinitialisation, and the instability of the dense nets and the tickets.

One dense training per trial is recorded at every rewinding iteration k (its weights, batch-norm statistics
included). For each k, two copies of the dense net at k, and two copies of the ticket (the survivors of
global magnitude pruning of the conv weights, rewound to k), train to the end of the schedule on different
batches; the learning-rate schedule continues from iteration k. The copies' test error along the straight
line between their final weights (everything interpolated, batch-norm statistics too) gives the
instability: the largest error on the path minus the mean error of its ends. Later IMP rounds prune copy
0's trained ticket of the first k (one mask lineage for every k, where the papers run one IMP per k). A
random reinitialisation with each round's mask trains the whole schedule.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lth.config import ConfigError, setting
from lth.core.convnets import make_convnet
from lth.core.engine import TrainJob, TrainSettings, evaluate
from lth.core.masks import dense_masks, prune_global, remaining_fraction
from lth.data import DeviceData
from lth.shared.driver import StudyDriver, study_fingerprint
from lth.shared.groups import (ImagesGroup, InitGroup, NumericsGroup, SgdGroup, TrainingGroups, TrialsGroup,
                               paper_default)
from lth.shared.lottery import concat_members
from lth.shared.members import derive_seed
from lth.shared.population import ticket_init
from lth.shared.settings import check_batches_fit
from lth.shared.stage import NUMERICS, run_lottery_stage
from lth.shared.subsets import first_examples, population_chunk
from lth.shared.trajectory import interpolate, train_recording
from lth.stage_run import StageRun, config_record


@dataclass(frozen=True)
class RewindingConfig(TrainingGroups, ImagesGroup, InitGroup, SgdGroup, TrialsGroup, NumericsGroup):
    """One network's rewinding study at the usual (high) learning rate, its paper settings."""
    arch: str = setting("resnet20", "network", choices=("vgg19", "resnet20"))
    batch_size: int = setting(128, "minibatch size", min=1)
    lr: float = setting(0.1, "SGD learning rate", min=0, min_exclusive=True)
    weight_decay: float = paper_default(SgdGroup, "weight_decay", 1e-4)
    iterations: int = setting(30000, "training iterations of the whole schedule", min=1)
    lr_milestones: list[int] = setting([20000, 25000], "iterations at which the rate is divided by 10", min=1,
                                       allow_empty=True)
    augment: bool = paper_default(ImagesGroup, "augment", True)
    rewind_iterations: list[int] = setting([0, 100, 500, 2000], "the iterations k survivors are rewound to "
                                           "(0 = the LTH)", min=0)
    conv_rate: float = setting(0.2, "fraction of the surviving conv weights pruned per round (global)", min=0,
                               max=1, min_exclusive=True, max_exclusive=True)
    rounds: int = setting(5, "IMP rounds", min=1)
    interpolation_points: int = setting(11, "points on the line between two copies (ends included)", min=3)
    interpolation_examples: int = setting(0, "test images the path's errors are measured on (0 = all)", min=0)
    trials: int = paper_default(TrialsGroup, "trials", 1)
    seed: int = paper_default(TrialsGroup, "seed", 9)

    def check(self, prefix: str) -> None:
        """Rewinding points inside the training and on its recording grid; milestones inside the training."""
        ks = self.rewind_iterations
        if ks[0] != 0:
            raise ConfigError(f"params.yaml: {prefix}.rewind_iterations = {ks}: must start at 0 (the LTH's "
                              "rewinding, every comparison's reference)")
        if list(ks) != sorted(set(ks)) or ks[-1] >= self.iterations:
            raise ConfigError(f"params.yaml: {prefix}.rewind_iterations = {ks}: must increase and stay below "
                              f"{prefix}.iterations ({self.iterations})")
        if self.lr_milestones and (list(self.lr_milestones) != sorted(set(self.lr_milestones))
                                   or self.lr_milestones[-1] > self.iterations):
            raise ConfigError(f"params.yaml: {prefix}.lr_milestones = {self.lr_milestones}: must increase and stay "
                              f"within {prefix}.iterations ({self.iterations})")

    @property
    def record_every(self) -> int:
        """The recording interval that hits every positive rewinding iteration (their greatest common divisor)."""
        return math.gcd(*self.rewind_iterations) or self.iterations


def schedule_from(config: RewindingConfig, start: int, record_every: int = 0) -> TrainSettings:
    """The rest of the schedule from iteration ``start``: the remaining iterations, milestones shifted."""
    return config.to_train_settings(iterations=config.iterations - start, batch_size=config.batch_size,
                                    optimizer="sgd", lr=config.lr,
                                    lr_milestones=tuple(m - start for m in config.lr_milestones if m > start),
                                    eval_every=record_every)


class RewindingStudy:
    """Dense runs recorded at every k; per round and k the two dense (round 1) and ticket copies, one reinit
    (a resumable study: the dense step, then one step per round)."""

    def __init__(self, config: RewindingConfig, data: DeviceData, device: torch.device, checkpoint: Path,
                 progress: bool = True, label: str = "rewinding"):
        data = DeviceData(first_examples(data.train, config.train_examples, f"{label}.train_examples", "training"),
                          data.validation, data.test, data.source_sha256)
        check_batches_fit(label, config.batch_size, len(data.train))
        self.config, self.data, self.device, self.progress, self.label = config, data, device, progress, label
        self.model = make_convnet(config.arch, config.width)
        self.names = [n for n, kind in self.model.layer_kinds.items() if kind == "conv"]
        self.rounds, self.trials = config.rounds, config.trials
        _, self.init = ticket_init(self.model, config, device)
        self.driver = StudyDriver(checkpoint, study_fingerprint(config, data), label, device, progress)
        self.path_test = first_examples(data.test, config.interpolation_examples,
                                        f"{label}.interpolation_examples", "test")

    def _train_job(self, params: dict[str, torch.Tensor], masks: dict[str, torch.Tensor], settings: TrainSettings,
                   seeds: list[int], what: str) -> dict[str, torch.Tensor]:
        job = TrainJob(self.model, params, masks, settings, self.data.train, seeds,
                       progress=f"{self.label} {what}" if self.progress else None)
        result, _ = train_recording(job, lambda state, rows: {}, population_chunk(self.device))
        return result.params

    def _dense(self) -> dict[str, Any]:
        """Every trial's dense training, its weights at every k and at the end."""
        config = self.config
        seeds = [derive_seed(config.seed, "data", "dense", t) for t in range(self.trials)]
        job = TrainJob(self.model, self.init, {}, schedule_from(config, 0, config.record_every), self.data.train,
                       seeds, progress=f"{self.label} dense" if self.progress else None)
        calls: dict[int, int] = {}

        def keep(state: dict[str, torch.Tensor], rows: range) -> dict[str, torch.Tensor]:
            # the weights at the rewinding iterations only (a paper-size net at every point would not fit)
            calls[rows.start] = calls.get(rows.start, 0) + 1
            return dict(state) if calls[rows.start] * config.record_every in config.rewind_iterations else {}

        result, points = train_recording(job, keep, population_chunk(self.device))
        at = {0: self.init}
        for i, state in enumerate(points):
            if state:
                at[(i + 1) * config.record_every] = state
        return {"at": at, "final": result.params}

    def _accuracy(self, params: dict[str, torch.Tensor]) -> list[float]:
        _, accuracy = evaluate(self.model, params, self.data.test)
        return [round(float(a), 6) for a in accuracy]

    def _path(self, a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> list[list[float]]:
        """Test error (%) at every point of the line from ``a`` to ``b`` (members paired), [points][members]."""
        points = self.config.interpolation_points
        out = []
        for i in range(points):
            _, accuracy = evaluate(self.model, interpolate(a, b, i / (points - 1)), self.path_test)
            out.append([round(100 * (1 - float(v)), 4) for v in accuracy])
        return out

    def _round(self, r: int, dense: dict[str, Any], masks: dict[str, torch.Tensor]) -> dict[str, Any]:
        """Round r: for every k, the two ticket copies (and in round 1 the two dense copies), and the reinit."""
        config, T = self.config, self.trials
        record: dict[str, Any] = {"round": r, "pm": [round(float(p), 6) for p in remaining_fraction(masks, self.names)],
                                  "k": {}}
        for k in config.rewind_iterations:
            settings = schedule_from(config, k)
            start = dense["at"][k]
            entry = {}
            kinds = [("ticket", masks)] + ([("dense", dense_masks(start, self.names))] if r == 1 else [])
            for kind, kind_masks in kinds:
                seeds = [derive_seed(config.seed, "data", kind, r, k, t, copy) for copy in (0, 1) for t in range(T)]
                trained = self._train_job(concat_members([start, start]), concat_members([kind_masks, kind_masks]),
                                          settings, seeds, f"round {r} {kind} k={k}")
                a = {n: p[:T] for n, p in trained.items()}
                b = {n: p[T:] for n, p in trained.items()}
                entry[kind] = {"accuracy": [self._accuracy(a), self._accuracy(b)], "path_error": self._path(a, b)}
                if kind == "ticket":
                    entry["trained"] = a
            record["k"][str(k)] = entry
        fresh = self.model.init_params([derive_seed(config.seed, "reinit", r, t) for t in range(T)], config.init,
                                       config.init_std, device=self.device)
        reinit = self._train_job(fresh, masks, schedule_from(config, 0),
                                 [derive_seed(config.seed, "data", "reinit", r, t) for t in range(T)],
                                 f"round {r} reinit")
        record["reinit"] = {"accuracy": self._accuracy(reinit)}
        return record

    def _dense_step(self, state: dict[str, Any]) -> None:
        """The dense runs; the next round prunes their final weights."""
        state["dense"] = self._dense()
        state["masks"] = dense_masks(self.init, self.names)
        state["prune_from"] = state["dense"]["final"]

    def _round_step(self, r: int, state: dict[str, Any]) -> None:
        """Round r: prune, train every k's copies and the reinit; keep what the next round prunes."""
        masks = prune_global({n: state["prune_from"][n].abs() for n in self.names}, state["masks"], self.names,
                             self.config.conv_rate)
        record = self._round(r, state["dense"], masks)
        # the next round prunes the ticket rewound to the first k, copy 0 (the LTH's lineage at k = 0)
        state["prune_from"] = record["k"][str(self.config.rewind_iterations[0])].pop("trained")
        for entry in record["k"].values():
            entry.pop("trained", None)
        state["masks"] = masks
        state["rounds"].append(record)

    def run(self) -> dict[str, Any]:
        """The dense runs, then every round (resuming from the checkpoint after each)."""
        state = self.driver.start(lambda: {"dense": None, "rounds": [], "masks": None})
        rounds = [(f"round {r}", functools.partial(self._round_step, r)) for r in range(1, self.rounds + 1)]
        self.driver.run([("dense", self._dense_step)] + rounds)
        dense = state["dense"]
        return {"dense_accuracy": self._accuracy(dense["final"]), "rounds": state["rounds"],
                "path_examples": len(self.path_test), "record_every": self.config.record_every}


REWINDING_NETS = ("vgg19", "resnet20")
SECTIONS = {**{f"rewinding_{net}": RewindingConfig for net in REWINDING_NETS}, **NUMERICS}
ITEMS = (("net", REWINDING_NETS, "which network (params section rewinding_<net>)"),)


def stage(run: StageRun) -> str:
    """Late rewinding and linear mode connectivity for one net (``rewinding vgg19``); writes
    results/rewinding/<net>.json and its timing file (resuming from checkpoints/rewinding/ after a kill)."""
    net, = run.items
    section = f"rewinding_{net}"
    loaded = run.section(section, RewindingConfig)
    config, out = loaded.config, run.results / "rewinding"
    checkpoint = run.checkpoints / "rewinding" / f"{net}.pt"
    results = run_lottery_stage(
        lambda data, device: RewindingStudy(config, data, device, checkpoint, label=section), run, "cifar10",
        out / f"{net}.json", out / f"{net}_timing.json", checkpoint,
        lambda study: {**config_record(loaded), "net": net})
    return (f"{len(results['rounds'])} rounds, rewinding to {config.rewind_iterations}, dense accuracy "
            f"{results['dense_accuracy']}")
