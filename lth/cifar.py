"""CIFAR-10 lottery experiments (final paper Figs. 5-8): Conv-2/4/6 with layerwise pruning, VGG-19 and
ResNet-20 with global pruning of their conv weights; tickets and random-reinit controls each round."""
from __future__ import annotations

from pathlib import Path

import torch

from lth.config import CifarConfig
from lth.convnets import make_convnet
from lth.data import DeviceData
from lth.engine import TrainSettings
from lth.lottery import Lottery

KIND_RATE = {"conv": "conv_rate", "fc": "fc_rate", "output": "output_rate"}


def population_chunk(device: torch.device) -> int | None:
    """Members trained at once. On a CPU the conv nets are compute-bound and grouped convolutions gain
    nothing over one member at a time (bench/engine.py: Conv-2 14.7 model-steps/s alone vs 14.3 in a
    group of 4, ResNet-20 5.9 vs 5.3), so members train one after another; on a GPU the whole population
    trains together."""
    return 1 if device.type == "cpu" else None


def train_settings(config: CifarConfig) -> TrainSettings:
    """The engine's settings for one CIFAR config."""
    return TrainSettings(iterations=config.iterations, batch_size=config.batch_size, optimizer=config.optimizer,
                         lr=config.lr, momentum=config.momentum if config.optimizer == "sgd" else 0.0,
                         weight_decay=config.weight_decay, lr_milestones=tuple(config.lr_milestones),
                         lr_gamma=config.lr_gamma, warmup_iterations=config.warmup, eval_every=config.eval_every,
                         augment=config.augment, mixed_precision=config.mixed_precision)


class CifarLottery(Lottery):
    """IMP with rewinding plus random reinitialisation for one CIFAR-10 network and variant.

    Layerwise pruning prunes conv, hidden fc and output weights at their own rates (Conv-2/4/6); global
    pruning pools every conv weight (not ResNet's 1x1 shortcut projections, not the fc layer) and removes
    ``conv_rate`` of the survivors by magnitude (VGG-19, ResNet-20). Besides the per-round checkpoint, a
    long training saves its state every ``snapshot_every_s`` seconds, so a killed VGG-19 round resumes
    mid-training.
    """

    def __init__(self, config: CifarConfig, data: DeviceData, device: torch.device, checkpoint: Path,
                 progress: bool = True, label: str = "cifar", snapshot_every_s: float = 600.0):
        model = make_convnet(config.arch, config.width, config.dropout)
        kinds = model.layer_kinds
        if config.pruning == "global":
            names = [n for n, kind in kinds.items() if kind == "conv"]
            rates, global_rate = {n: config.conv_rate for n in names}, config.conv_rate
        else:
            names = [n for n, kind in kinds.items() if kind in KIND_RATE]
            rates, global_rate = {n: getattr(config, KIND_RATE[kinds[n]]) for n in names}, None
        super().__init__(config, model, names, rates, config.rounds, train_settings(config), data, device,
                         checkpoint, progress, label=label, global_rate=global_rate, chunk=population_chunk(device),
                         snapshot_every_s=snapshot_every_s)
