"""The networks the mask studies (Zhou et al.'s deconstruction, layerwise importance) run on: LeNet-300-100 on
MNIST as the final paper trains it, and Conv-2/4/6 on CIFAR-10 with the final paper's per-net rate, length
and per-layer pruning rates. A study's params section lists its ``nets``; each is one lottery."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lth.config import ConfigError, setting
from lth.core.convnets import make_convnet
from lth.core.engine import TrainSettings
from lth.data import DeviceData
from lth.shared.lenet import MNIST_INPUTS, layer_rates, lenet
from lth.shared.lottery import last_level
from lth.shared.settings import check_batches_fit, check_schedule
from lth.shared.subsets import first_examples

CONV_NETS = ("conv2", "conv4", "conv6")
STUDY_NETS = ("lenet",) + CONV_NETS
DATASETS = {"lenet": "mnist", "conv2": "cifar10", "conv4": "cifar10", "conv6": "cifar10"}


@dataclass(frozen=True)
class ConvSchedule:
    """How a study trains Conv-2/4/6 (the final paper's settings, in the order conv2, conv4, conv6); batch size,
    evaluation, patience and the fc / output pruning rates are the section's own."""
    conv_width: float = setting(1.0, "width multiplier of the conv nets (1 = the paper's)", min=0, min_exclusive=True)
    conv_train_examples: int = setting(0, "the conv nets train on the first N CIFAR-10 training images (0 = all)",
                                       min=0)
    conv_lr: list[float] = setting([2e-4, 3e-4, 3e-4], "Adam's rate of Conv-2, Conv-4, Conv-6", min=0,
                                   min_exclusive=True)
    conv_iterations: list[int] = setting([20000, 25000, 30000], "training iterations of Conv-2, Conv-4, Conv-6",
                                         min=1)
    conv_layer_rates: list[float] = setting([0.1, 0.1, 0.15], "per-round pruning rate of the conv layers of "
                                            "Conv-2, Conv-4, Conv-6 (hidden fc layers at hidden_rate, the output "
                                            "at output_rate)", min=0, max=1, max_exclusive=True)

    def check_nets(self, prefix: str) -> None:
        """Each net once; one value per conv net in each per-net list; each conv net's length fits the
        section's evaluation and patience."""
        nets = getattr(self, "nets")
        if len(set(nets)) != len(nets):
            raise ConfigError(f"params.yaml: {prefix}.nets = {nets}: each net once")
        for key in ("conv_lr", "conv_iterations", "conv_layer_rates"):
            if len(getattr(self, key)) != len(CONV_NETS):
                raise ConfigError(f"params.yaml: {prefix}.{key} = {getattr(self, key)}: needs one value for each of "
                                  f"{', '.join(CONV_NETS)}")
        for net, iterations in zip(CONV_NETS, self.conv_iterations):
            if net in nets:
                check_schedule(f"{prefix} ({net})", iterations, eval_every=getattr(self, "eval_every"),
                               patience=getattr(self, "patience"))

    def check_levels(self, prefix: str, key: str) -> None:
        """Every one-shot level of list ``key`` still prunes every net of the section (``last_study_level``):
        a later one would repeat a lower level's masks or empty a layer."""
        levels = getattr(self, key)
        for net in getattr(self, "nets"):
            last = last_study_level(self, net)
            if max(levels) > last:
                raise ConfigError(f"params.yaml: {prefix}.{key} = {levels}: level {max(levels)} is beyond the last "
                                  f"level that still prunes {net} at this section's rates ({last})")


@dataclass(frozen=True)
class StudyNet:
    """One network of a study: its population model, prunable weights, per-layer rates, training and data."""
    name: str
    model: Any
    names: list[str]
    rates: dict[str, float]
    settings: TrainSettings
    data: DeviceData

    @property
    def sizes(self) -> dict[str, int]:
        """Weights per prunable layer."""
        shapes = self.model.shapes()
        return {n: math.prod(shapes[n][0]) for n in self.names}


def study_net(config: Any, net: str, data: DeviceData, section: str) -> StudyNet:
    """``net`` as ``config`` (a LeNet schedule with ``ConvSchedule``) trains it, on ``data`` (MNIST for LeNet,
    CIFAR-10 for the conv nets)."""
    if net == "lenet":
        check_batches_fit(section, config.batch_size, len(data.train))
        model = lenet(config, data.train.x.shape[1])
        return StudyNet(net, model, model.layer_names, layer_rates(config, model.layer_names),
                        config.to_train_settings(), data)
    if net not in CONV_NETS:
        raise ConfigError(f"params.yaml: {section}.nets contains {net!r}: allowed: {', '.join(STUDY_NETS)}")
    index = CONV_NETS.index(net)
    data = DeviceData(first_examples(data.train, config.conv_train_examples, f"{section}.conv_train_examples",
                                     "training"), data.validation, data.test, data.source_sha256)
    check_batches_fit(section, config.batch_size, len(data.train))
    model = make_convnet(net, config.conv_width)
    return StudyNet(net, model, list(model.layer_kinds), conv_rates(config, net, model),
                    config.to_train_settings(lr=config.conv_lr[index], iterations=config.conv_iterations[index]), data)


def conv_rates(config: Any, net: str, model: Any) -> dict[str, float]:
    """Per-round pruning rate of each prunable layer of conv net ``net`` (``model``): its conv layers at the
    net's ``conv_layer_rates``, hidden fc layers at ``hidden_rate``, the output at ``output_rate``."""
    per_kind = {"conv": config.conv_layer_rates[CONV_NETS.index(net)], "fc": config.hidden_rate,
                "output": config.output_rate}
    return {n: per_kind[k] for n, k in model.layer_kinds.items()}


def last_study_level(config: Any, net: str) -> int:
    """The last one-shot level of ``net`` that still prunes (``last_level``) at ``config``'s rates, from the
    net's layer shapes alone (no data)."""
    model = lenet(config, MNIST_INPUTS) if net == "lenet" else make_convnet(net, config.conv_width)
    names = model.layer_names if net == "lenet" else list(model.layer_kinds)
    rates = layer_rates(config, names) if net == "lenet" else conv_rates(config, net, model)
    shapes = model.shapes()
    return last_level({n: math.prod(shapes[n][0]) for n in names}, rates)
