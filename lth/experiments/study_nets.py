"""The networks the mask studies (Zhou et al.'s deconstruction, layerwise importance) run on: LeNet-300-100 on
MNIST as the final paper trains it, and Conv-2/4/6 on CIFAR-10 with the final paper's per-net rate, length
and per-layer pruning rates. A study's params section lists its ``nets``; each is one lottery."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from lth.config import ConfigError, Loaded, as_dict, setting
from lth.core.convnets import make_convnet
from lth.core.engine import TrainSettings
from lth.data import DeviceData
from lth.experiments.cifar import first_examples
from lth.experiments.common import check_batches_fit, check_schedule, train_settings
from lth.experiments.mnist import layer_rates, lenet
from lth.experiments.stage import run_lottery_stage

CONV_NETS = ("conv2", "conv4", "conv6")
STUDY_NETS = ("lenet",) + CONV_NETS
DATASETS = {"lenet": "mnist", "conv2": "cifar10", "conv4": "cifar10", "conv6": "cifar10"}
# dataset -> (prepared file, whether its images are flattened for the model)
DATA_FILES = {"mnist": ("data/mnist.pt", True), "cifar10": ("data/cifar10.pt", False)}


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
        return StudyNet(net, model, model.layer_names, layer_rates(config, model.layer_names), train_settings(config),
                        data)
    if net not in CONV_NETS:
        raise ConfigError(f"params.yaml: {section}.nets contains {net!r}: allowed: {', '.join(STUDY_NETS)}")
    index = CONV_NETS.index(net)
    data = DeviceData(first_examples(data.train, config.conv_train_examples, f"{section}.conv_train_examples",
                                     "training"), data.validation, data.test, data.source_sha256)
    check_batches_fit(section, config.batch_size, len(data.train))
    model = make_convnet(net, config.conv_width)
    kinds = model.layer_kinds
    per_kind = {"conv": config.conv_layer_rates[index], "fc": config.hidden_rate, "output": config.output_rate}
    return StudyNet(net, model, list(kinds), {n: per_kind[k] for n, k in kinds.items()},
                    train_settings(config, lr=config.conv_lr[index], iterations=config.conv_iterations[index]), data)


def run_study(study: str, loaded: Loaded, make_lottery: Callable[[DeviceData, torch.device, Path, str], Any],
              describe: Callable[[dict[str, Any]], str]) -> str:
    """A mask study's stage body: its lottery for every net of the section's ``nets``, each writing
    results/<study>/<net>.json and <net>_timing.json (resuming from checkpoints/<study>/<net>.pt); returns the
    stage's one-line summary (``describe`` of each net's results)."""
    config, out, done = loaded.config, Path("results") / study, []
    for net in config.nets:
        path, flatten = DATA_FILES[DATASETS[net]]
        checkpoint = Path("checkpoints") / study / f"{net}.pt"
        result = run_lottery_stage(
            lambda data, device, net=net, checkpoint=checkpoint: make_lottery(data, device, checkpoint, net),
            Path(path), flatten, out / f"{net}.json", out / f"{net}_timing.json", checkpoint,
            lambda lottery, net=net: {"profile": loaded.profile, "net": net, "config": as_dict(config)})
        done.append(f"{net}: {describe(result)}")
    return "; ".join(done) + f", {config.trials} trials"
