"""CIFAR-10 lottery experiments (final paper Figs. 5-8): Conv-2/4/6 with layerwise pruning, VGG-19 and
ResNet-20 with global pruning of their conv weights; tickets and random-reinit controls each round."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lth.config import ConfigError, setting
from lth.core.convnets import make_convnet
from lth.data import DeviceData
from lth.shared.groups import (ImagesGroup, InitGroup, NumericsGroup, OptimizerGroup, ScheduleGroup, SgdGroup,
                               TrainingGroups, TrialsGroup, paper_default)
from lth.shared.lottery import Lottery
from lth.shared.settings import check_batches_fit, check_rounds, check_schedule
from lth.shared.stage import NUMERICS, run_lottery_stage
from lth.shared.subsets import first_examples, population_chunk
from lth.stage_run import StageRun, config_record

CIFAR_NETS = ("conv2", "conv4", "conv6", "vgg19", "resnet20")

@dataclass(frozen=True)
class CifarConfig(TrainingGroups, ImagesGroup, InitGroup, OptimizerGroup, SgdGroup, ScheduleGroup, TrialsGroup,
                  NumericsGroup):
    """One CIFAR-10 network's lottery experiment (final paper Figs. 5-8): IMP with rewinding to init and the
    random-reinit control. A section's ``variants`` (dropout; learning rate; warmup) override these values."""
    lr: float = paper_default(OptimizerGroup, "lr", 2e-4)
    iterations: int = paper_default(ScheduleGroup, "iterations", 20000)
    arch: str = setting("conv2", "network", choices=("conv2", "conv4", "conv6", "vgg19", "resnet20"))
    dropout: float = setting(0.0, "dropout rate on the hidden fc layers (Conv-2/4/6 only)", min=0, max=1,
                             max_exclusive=True)
    lr_milestones: list[int] = setting([], "iterations at which the learning rate is multiplied by lr_gamma",
                                       min=1, allow_empty=True)
    lr_gamma: float = setting(0.1, "learning-rate decay factor at each milestone", min=0, min_exclusive=True)
    warmup: int = setting(0, "iterations of linear learning-rate warmup from 0 (0 = none)", min=0)
    curve_examples: int = setting(0, "the recorded test-accuracy curves are computed on the first N test images "
                                  "(0 = all); accuracies at early stop always use the whole test set", min=0)
    validation_examples: int = setting(0, "early stopping reads the validation loss of the first N validation "
                                       "images (0 = the whole validation split, as the paper)", min=0)
    pruning: str = setting("layerwise", "layerwise (conv/fc/output rates) or global (one rate over all conv "
                           "weights; shortcuts and fc unpruned)", choices=("layerwise", "global"))
    conv_rate: float = setting(0.1, "fraction of surviving conv weights pruned per round (layerwise, and the "
                               "rate of global pruning)", min=0, max=1, max_exclusive=True)
    fc_rate: float = setting(0.2, "fraction of surviving hidden-fc weights pruned per round (layerwise)",
                             min=0, max=1, max_exclusive=True)
    output_rate: float = setting(0.1, "fraction of surviving output-layer weights pruned per round (layerwise)",
                                 min=0, max=1, max_exclusive=True)
    rounds: int = setting(15, "IMP rounds after the dense run", min=0)
    reinit_per_ticket: int = setting(1, "random-reinitialisation controls per ticket", min=0)
    curve_rounds: list[int] = setting([0], "rounds whose test-accuracy curves are recorded", min=0,
                                      allow_empty=True)

    def train_fields(self) -> dict[str, Any]:
        """Engine settings this schema sets besides its groups': the learning-rate schedule."""
        return {"lr_milestones": tuple(self.lr_milestones), "lr_gamma": self.lr_gamma, "warmup_iterations": self.warmup}

    def check(self, prefix: str) -> None:
        """The schedule fits the training; curve rounds exist; dropout only where the net has it."""
        check_schedule(prefix, self.iterations, eval_every=self.eval_every, warmup=self.warmup,
                       lr_milestones=self.lr_milestones, patience=self.patience)
        check_rounds(prefix, "curve_rounds", self.curve_rounds, self.rounds)
        if self.dropout and self.arch not in ("conv2", "conv4", "conv6"):
            raise ConfigError(f"params.yaml: {prefix}.dropout = {self.dropout}: dropout is defined for conv2, "
                              f"conv4 and conv6 only, not {self.arch}")



KIND_RATE = {"conv": "conv_rate", "fc": "fc_rate", "output": "output_rate"}
# Nets whose populations train split over one single-threaded process per CPU core (``lth.core.processes``):
# the small conv nets' steps keep two threads less busy than two processes (bench: docs/measurements.md).
# VGG-19 and ResNet-20 share augmentation draws across their population and stay in one process.
SPLIT_NETS = ("conv2", "conv4", "conv6")


class CifarLottery(Lottery):
    """IMP with rewinding plus random reinitialisation for one CIFAR-10 network and variant.

    Layerwise pruning prunes conv, hidden fc and output weights at their own rates (Conv-2/4/6); global
    pruning pools every conv weight (not ResNet's 1x1 shortcut projections, not the fc layer) and removes
    ``conv_rate`` of the survivors by magnitude (VGG-19, ResNet-20). Besides the per-round checkpoint, a
    long training saves its state every ``snapshot_every_s`` seconds, so a killed VGG-19 round resumes
    mid-training.
    """

    def __init__(self, config: CifarConfig, data: DeviceData, device: torch.device, checkpoint: Path,
                 progress: bool = True, label: str = "cifar", snapshot_every_s: float = 600.0,
                 section: str = "cifar"):
        data = DeviceData(first_examples(data.train, config.train_examples, f"{section}.train_examples", "training"),
                          first_examples(data.validation, config.validation_examples,
                                         f"{section}.validation_examples", "validation"),
                          data.test, data.source_sha256)
        curve_test = first_examples(data.test, config.curve_examples, f"{section}.curve_examples", "test")
        check_batches_fit(section, config.batch_size, len(data.train))
        model = make_convnet(config.arch, config.width, config.dropout)
        kinds = model.layer_kinds
        if config.pruning == "global":
            names = [n for n, kind in kinds.items() if kind == "conv"]
            rates, global_rate = {n: config.conv_rate for n in names}, config.conv_rate
        else:
            names = [n for n, kind in kinds.items() if kind in KIND_RATE]
            rates, global_rate = {n: getattr(config, KIND_RATE[kinds[n]]) for n in names}, None
        super().__init__(config, model, names, rates, config.rounds, config.to_train_settings(), data, device,
                         checkpoint, progress, label=label, global_rate=global_rate, chunk=population_chunk(device),
                         snapshot_every_s=snapshot_every_s, curve_test=curve_test,
                         split_over_processes=config.arch in SPLIT_NETS)


SECTIONS = {**{net: CifarConfig for net in CIFAR_NETS}, **NUMERICS}
ITEMS = (("net", CIFAR_NETS, "network (a params.yaml section)"),
         ("variant", None, "one of the section's variants (e.g. plain, dropout, high_lr, low_lr, warmup)"))


def stage(run: StageRun) -> str:
    """One network and variant (``cifar conv2 plain``): IMP with rewinding and random reinit; writes
    results/cifar/<net>_<variant>.json and its timing file (resuming from checkpoints/cifar/ after a kill)."""
    net, variant = run.items
    loaded = run.section(net, CifarConfig, variants=True)
    if variant not in loaded.config:
        raise ConfigError(f"params.yaml: {net}.variants has no {variant!r}; defined: " + ", ".join(loaded.config))
    config, name = loaded.config[variant], f"{net}_{variant}"
    checkpoint, out = run.checkpoints / "cifar" / f"{name}.pt", run.results / "cifar"

    def make(data: DeviceData, device: torch.device) -> CifarLottery:
        return CifarLottery(config, data, device, checkpoint, label=f"cifar {name}", section=net)

    def record(lottery: CifarLottery) -> dict:
        return {**config_record(loaded, config), "net": net, "variant": variant,
                "parameters": lottery.model.parameter_count()}

    results = run_lottery_stage(make, run, "cifar10", out / f"{name}.json", out / f"{name}_timing.json", checkpoint,
                                record)
    last = results["rounds"][-1]["ticket"]
    return f"{len(results['rounds'])} IMP levels down to Pm {100 * last['pm'][0]:.1f}%, {config.trials} trials"
