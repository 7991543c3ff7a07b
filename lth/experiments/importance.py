"""Layerwise importance (Vandersmissen & Oramas, "Considering Layerwise Importance in the Lottery Ticket Hypothesis")
on LeNet-300-100 (MNIST) and Conv-2/4/6 (CIFAR-10), one lottery per net: IMP with global pruning by importance
values that depend on the other weights of the same layer, next to global magnitude (the seed's baseline), and how
much the tickets overlap.

The seed's premise is a repeatable training procedure: in trial t every metric starts from the same initial weights
and sees the same batches, so the tickets differ only through the importance value. One metric (``repeat_metric``)
is trained twice per trial (the two copies must give identical tickets: overlap 1), and trials differ in both init
and batches (the overlap of unrelated tickets). Every member of every round is in one population; each member is
pruned by its own metric and rewound to its trial's initial weights."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lth.config import ConfigError, setting
from lth.core.criteria import IMPORTANCE_VALUES, importance_scores, mask_iou
from lth.core.masks import dense_masks, prune_global
from lth.data import DeviceData
from lth.shared.driver import StudyDriver, study_fingerprint
from lth.shared.groups import TrialsGroup, paper_default
from lth.shared.lenet import LenetSchedule
from lth.shared.lottery import rounds_needed
from lth.shared.members import derive_seed
from lth.shared.population import PopulationTrainer, ticket_init
from lth.shared.stage import NUMERICS, run_study
from lth.shared.study_nets import DATASETS, STUDY_NETS, ConvSchedule, study_net
from lth.shared.subsets import population_chunk
from lth.stage_run import StageRun


@dataclass(frozen=True)
class ImportanceConfig(LenetSchedule, ConvSchedule):
    """LeNet-300-100 on MNIST (the final paper's setup) and Conv-2/4/6 on CIFAR-10, IMP with global pruning by
    each importance value."""
    nets: list[str] = setting(list(STUDY_NETS), "networks the metrics run on (each one lottery)",
                              choices=STUDY_NETS)
    metrics: list[str] = setting(list(IMPORTANCE_VALUES), "importance values, each an IMP run with global pruning "
                                 "(lth/core/criteria.py defines them)", choices=tuple(IMPORTANCE_VALUES))
    global_rate: float = setting(0.2, "fraction of all surviving weights pruned per round (pooled over layers)",
                                 min=0, max=1, min_exclusive=True, max_exclusive=True)
    repeat_metric: str = setting("magnitude", "the metric trained twice per trial (same seed, same batches)",
                                 choices=tuple(IMPORTANCE_VALUES))
    seed: int = paper_default(TrialsGroup, "seed", 6)

    def check(self, prefix: str) -> None:
        """The schedule fits the training; the metrics are distinct and include the repeated one."""
        super().check(prefix)
        self.check_nets(prefix)
        if len(set(self.metrics)) != len(self.metrics):
            raise ConfigError(f"params.yaml: {prefix}.metrics = {self.metrics}: each metric once")
        if self.repeat_metric not in self.metrics:
            raise ConfigError(f"params.yaml: {prefix}.repeat_metric = {self.repeat_metric!r}: must be one of "
                              f"{prefix}.metrics ({', '.join(self.metrics)})")


@dataclass(frozen=True)
class Member:
    """One population member: its metric, trial and whether it is the repeated copy."""
    metric: str
    trial: int
    repeat: bool = False

    @property
    def role(self) -> str:
        """The results' name for its kind of member: the metric, or ``<metric> (repeat)``."""
        return f"{self.metric} (repeat)" if self.repeat else self.metric

    @property
    def label(self) -> str:
        """Its row in the overlap matrix."""
        return f"{self.role} t{self.trial}"


class ImportanceLottery:
    """Every metric's IMP with global pruning and rewinding, all trials in one population per round (a
    resumable study: one step per round)."""

    def __init__(self, config: ImportanceConfig, data: DeviceData, device: torch.device, checkpoint: Path,
                 progress: bool = True, net: str = "lenet"):
        spec = study_net(config, net, data, "importance")
        self.config, self.model, self.names, self.device = config, spec.model, spec.names, device
        self.trials = config.trials
        self.rounds = rounds_needed(spec.sizes, {n: config.global_rate for n in spec.names}, config.min_remaining)
        _, self.init = ticket_init(spec.model, config, device)
        self.driver = StudyDriver(checkpoint, study_fingerprint(config, spec.data), f"importance {net}", device,
                                  progress)
        self.trainer = PopulationTrainer(spec.model, spec.settings, spec.data, spec.names, self.driver, config.seed,
                                         device, chunk=None if net == "lenet" else population_chunk(device),
                                         split_over_processes=net == "lenet")
        self.members = [Member(m, t) for t in range(self.trials) for m in config.metrics]
        self.members += [Member(config.repeat_metric, t, repeat=True) for t in range(self.trials)]
        index = torch.tensor([m.trial for m in self.members], device=device)
        self.member_init = {n: p[index] for n, p in self.init.items()}

    def _prune(self, trained: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Each member's next masks: global pruning by its own metric's importance values."""
        new = {n: m.clone() for n, m in masks.items()}
        for metric in dict.fromkeys(m.metric for m in self.members):
            index = torch.tensor([k for k, m in enumerate(self.members) if m.metric == metric], device=self.device)
            part = {n: masks[n][index] for n in self.names}
            scores = importance_scores(metric, {n: trained[n][index] for n in self.names}, part, self.names)
            pruned = prune_global(scores, part, self.names, self.config.global_rate)
            for n in self.names:
                new[n][index] = pruned[n]
        return new

    def overlaps(self, masks: dict[str, torch.Tensor]) -> list[list[float]]:
        """Intersection over union of the surviving weights of every pair of members (rows: ``members``)."""
        K = len(self.members)
        rows = []
        for a in range(K):
            left = {n: masks[n][a:a + 1].expand_as(masks[n]) for n in self.names}
            rows.append([round(float(v), 6) for v in mask_iou(left, masks, self.names)])
        return rows

    def _dense(self, seeds: list[int]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Round 0: every member of a trial is the same dense network, trained once per trial (role ``dense``,
        one member per trial) and shared by all of them."""
        first = [next(k for k, m in enumerate(self.members) if m.trial == t) for t in range(self.trials)]
        result, summary = self.trainer.train(self.init, dense_masks(self.init, self.names), ["dense"] * self.trials,
                                             0, "importance", None, [seeds[k] for k in first])
        index = torch.tensor([m.trial for m in self.members], device=self.device)
        return {n: p[index] for n, p in result.params.items()}, summary

    def _round_step(self, r: int, state: dict[str, Any]) -> None:
        """Round r: prune by each metric (round 0: the dense nets), rewind, train; its record with the overlaps."""
        masks = state["masks"] if r == 0 else self._prune(state["trained"], state["masks"])
        # a trial's members all see the same batches: the repeatable training procedure
        seeds = [derive_seed(self.config.seed, "data", r, m.trial) for m in self.members]
        if r == 0:
            trained, summary = self._dense(seeds)
        else:
            result, summary = self.trainer.train(self.member_init, masks, [m.role for m in self.members], r,
                                                 "importance", None, seeds)
            trained = result.params
        state["masks"], state["trained"] = masks, trained
        state["rounds"].append({"round": r, **summary, "overlap": self.overlaps(masks)})

    def run(self) -> dict[str, Any]:
        """Every round (resuming from the checkpoint): prune by each metric, rewind, train; overlaps per round."""
        self.driver.start(lambda: {"rounds": [], "masks": dense_masks(self.member_init, self.names), "trained": None})
        state = self.driver.run([(f"round {r}", functools.partial(self._round_step, r))
                                 for r in range(self.rounds + 1)], unit="rounds")
        return {"members": [m.label for m in self.members], "rounds": state["rounds"],
                "weights": {n: int(self.init[n][0].numel()) for n in self.names}}


SECTIONS = {"importance": ImportanceConfig, **NUMERICS}


def stage(run: StageRun) -> str:
    """Every net of ``importance.nets``; writes results/importance/<net>.json and timing files."""
    loaded = run.section("importance", ImportanceConfig)
    return run_study("importance", run, loaded, DATASETS, lambda data, device, checkpoint, net: ImportanceLottery(
        loaded.config, data, device, checkpoint, net=net), lambda r: f"{len(r['rounds'])} rounds")
