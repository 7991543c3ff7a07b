"""XOR calibration: the random-init success rates under every combination of the choices the paper
(v1, Section 2) leaves open — hidden activation, optimizer and learning rate, weight-init distribution and
scale, bias init — so that the report can rank them by their distance to the paper's first table.

Only the random-init table is swept; the pruning table is then run once at the chosen setting (the ``xor``
section), never tuned on. All settings that share an activation, an optimizer, a rate and a width train as
one population (every init variant times every trial), split over the CPU cores.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterator

import torch
from tqdm.auto import tqdm

from lth.config import ConfigError, setting
from lth.core.engine import TrainJob, TrainSettings
from lth.core.models import ACTIVATIONS, PopulationMLP
from lth.core.processes import train_in_processes, worker_count
from lth.shared.stage import Compute, write_results, write_timing
from lth.shared.xor_net import BIAS_INITS, success_rates, xor_init, xor_split
from lth.stage_run import StageRun


@dataclass(frozen=True)
class XorCalibrationConfig:
    """The grid: activations x (each optimizer at each of its rates) x (each init; 'normal' at each std) x
    bias inits; every setting trains ``trials`` nets of every width for ``iterations`` full-batch steps."""
    hidden_units: list[int] = setting([10, 8, 6, 4, 2], "widths (the paper's random-init table)", min=1)
    trials: int = setting(2000, "nets per setting and width", min=1)
    iterations: int = setting(1000, "full-batch training iterations (paper: 1000)", min=1)
    zero_loss_threshold: float = setting(0.01, "'zero loss' = mean binary cross-entropy below this (held fixed: "
                                         "a definition, not a training choice)", min=0, min_exclusive=True)
    activations: list[str] = setting(["relu", "tanh", "sigmoid"], "hidden activations",
                                     choices=tuple(ACTIVATIONS))
    sgd_lrs: list[float] = setting([0.1, 1.0], "plain SGD at each of these rates", min=0, min_exclusive=True,
                                   allow_empty=True)
    adam_lrs: list[float] = setting([0.01, 0.1], "Adam at each of these rates", min=0, min_exclusive=True,
                                    allow_empty=True)
    inits: list[str] = setting(["normal", "glorot_uniform"], "weight inits",
                               choices=("normal", "glorot_normal", "glorot_uniform"))
    normal_stds: list[float] = setting([0.5, 1.0, 2.0], "standard deviations of the 'normal' init", min=0,
                                       min_exclusive=True)
    bias_inits: list[str] = setting(["zero", "like_weights"], "bias inits", choices=BIAS_INITS)
    seed: int = setting(0, "base seed; trial i uses seed + i (the xor stage's seeds)", min=0)

    def check(self, prefix: str) -> None:
        """At least one optimizer rate."""
        if not self.sgd_lrs and not self.adam_lrs:
            raise ConfigError(f"params.yaml: {prefix}.sgd_lrs and {prefix}.adam_lrs are both empty: give at "
                              "least one learning rate")


def optimizers(config: XorCalibrationConfig) -> list[tuple[str, float]]:
    """(optimizer, lr) pairs of the grid."""
    return [("sgd", lr) for lr in config.sgd_lrs] + [("adam", lr) for lr in config.adam_lrs]


def init_variants(config: XorCalibrationConfig) -> list[dict[str, Any]]:
    """The init settings of the grid: {init, init_std, bias_init} (init_std is 0 where unused)."""
    weights = [(init, std) for init in config.inits
               for std in (config.normal_stds if init == "normal" else [0.0])]
    return [{"init": init, "init_std": std, "bias_init": bias} for init, std in weights for bias in config.bias_inits]


def grid_size(config: XorCalibrationConfig) -> int:
    """Number of settings in the grid."""
    return len(config.activations) * len(optimizers(config)) * len(init_variants(config))


def _populations(config: XorCalibrationConfig) -> Iterator[tuple[str, str, float, int]]:
    for activation in config.activations:
        for optimizer, lr in optimizers(config):
            for width in config.hidden_units:
                yield activation, optimizer, lr, width


def calibrate(config: XorCalibrationConfig, device: torch.device, progress: bool = True) -> list[dict[str, Any]]:
    """Success rates of every setting at every width: [{activation, optimizer, lr, init, init_std,
    bias_init, rates: {width: {db, zl, ...}}}] in grid order."""
    data = xor_split(device)
    variants = init_variants(config)
    seeds = [config.seed + i for i in range(config.trials)]
    settings: dict[tuple, dict[str, Any]] = {}
    populations = list(_populations(config))
    for activation, optimizer, lr, width in tqdm(populations, desc="xor calibration", disable=not progress):
        model = PopulationMLP((2, width, 1), activation)
        parts = [xor_init(model, seeds, v["init"], v["init_std"] or 1.0, v["bias_init"], device) for v in variants]
        init = {name: torch.cat([part[name] for part in parts]) for name in parts[0]}
        members = len(variants) * len(seeds)
        job = TrainJob(model, init, {}, TrainSettings(config.iterations, optimizer=optimizer, lr=lr), data,
                       seeds * len(variants), evaluations={"train": data})
        result = train_in_processes(job, members, worker_count(device, members))
        loss, accuracy = result.curves["train"]["loss"][:, -1], result.curves["train"]["accuracy"][:, -1]
        for k, variant in enumerate(variants):
            part = slice(k * len(seeds), (k + 1) * len(seeds))
            key = (activation, optimizer, lr, variant["init"], variant["init_std"], variant["bias_init"])
            entry = settings.setdefault(key, {"activation": activation, "optimizer": optimizer, "lr": lr,
                                              **variant, "rates": {}})
            entry["rates"][str(width)] = success_rates(loss[part], accuracy[part], config.zero_loss_threshold)
    return list(settings.values())


SECTIONS = {"xor_calibration": XorCalibrationConfig}


def stage(run: StageRun) -> str:
    """Every setting of the grid on the random-init table; writes results/xor/calibration.json and its timing."""
    loaded = run.section("xor_calibration", XorCalibrationConfig)
    config, compute = loaded.config, Compute.pick()
    start = time.perf_counter()
    settings = calibrate(config, compute.device)
    write_results(run.results / "xor" / "calibration.json", loaded, compute, settings=settings)
    write_timing(run.results / "xor" / "calibration_timing.json", start, compute.device)
    return (f"{grid_size(config)} settings x {len(config.hidden_units)} widths x {config.trials} trials on "
            f"{compute.device.type}")
