"""XOR calibration: the random-init success rates under every combination of the choices the paper (v1, Section 2)
leaves open — hidden activation, training loss, optimizer and learning rate, weight init and scale, bias init — so
that they can be ranked by their distance to the paper's first table (``lth.xor_target``).

Only the random-init table is swept; the pruning table is never tuned on (it is run at the closest setting by
`xor`, and at the five closest by `xor_sensitivity`). The grid is screened first: every setting at
``screen_trials`` nets per width, seeds disjoint from the final ones; the ``finalists`` closest by the screen are
then re-run at ``trials`` nets (the seeds of the `xor` stage) and ranked on those. All settings that share an
activation, an optimizer and a rate train as one population per width (every loss and init variant times every
trial), split over the CPU cores.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch
from tqdm.auto import tqdm

from lth.config import ConfigError, setting
from lth.core.engine import TrainJob, TrainSettings
from lth.core.models import ACTIVATIONS
from lth.core.processes import train_in_processes, worker_count
from lth.shared.stage import NUMERICS, Compute, write_results, write_timing
from lth.shared.xor_net import BIAS_INITS, LOSSES, ZERO_LOSS_HELP, success_rates, xor_init, xor_net, xor_split
from lth.stage_run import StageRun
from lth.xor_target import CHOICE_KEYS, ranked


@dataclass(frozen=True)
class XorCalibrationConfig:
    """The grid: activations x losses x (each optimizer at each of its rates) x (each init; 'normal' at each std) x
    bias inits; every setting trains nets of every width for ``iterations`` full-batch steps."""
    hidden_units: list[int] = setting([10, 8, 6, 4, 2], "widths (the paper's random-init table)", min=1)
    trials: int = setting(2000, "nets per setting and width of the finalists (the settings that are ranked)", min=1)
    screen_trials: int = setting(200, "nets per setting and width in the screen of the whole grid (0: no screen, "
                                 "every setting at `trials`)", min=0)
    finalists: int = setting(24, "settings closest to the paper's table in the screen, re-run at `trials`", min=1)
    iterations: int = setting(1000, "full-batch training iterations (paper: 1000)", min=1)
    zero_loss_threshold: float = setting(0.01, ZERO_LOSS_HELP + " (held fixed: a definition, not a training choice)",
                                         min=0, min_exclusive=True)
    activations: list[str] = setting(["relu", "tanh", "sigmoid"], "hidden activations", choices=tuple(ACTIVATIONS))
    losses: list[str] = setting(["bce", "mse"], "training losses of the sigmoid output", choices=LOSSES)
    sgd_lrs: list[float] = setting([0.1, 1.0], "plain SGD at each of these rates", min=0, min_exclusive=True,
                                   allow_empty=True)
    adam_lrs: list[float] = setting([0.01, 0.1], "Adam at each of these rates", min=0, min_exclusive=True,
                                    allow_empty=True)
    inits: list[str] = setting(["normal", "glorot_uniform"], "weight inits",
                               choices=("normal", "glorot_normal", "glorot_uniform"))
    normal_stds: list[float] = setting([0.5, 1.0, 2.0], "standard deviations of the 'normal' init", min=0,
                                       min_exclusive=True)
    bias_inits: list[str] = setting(["zero", "like_weights"], "bias inits", choices=BIAS_INITS)
    seed: int = setting(0, "base seed; final trial i uses seed + i (the xor stage's seeds), screen trial i "
                        "seed + trials + i", min=0)

    def check(self, prefix: str) -> None:
        """At least one optimizer rate; a screen smaller than the final run."""
        if not self.sgd_lrs and not self.adam_lrs:
            raise ConfigError(f"params.yaml: {prefix}.sgd_lrs and {prefix}.adam_lrs are both empty: give at "
                              "least one learning rate")
        if self.screen_trials >= self.trials:
            raise ConfigError(f"params.yaml: {prefix}.screen_trials = {self.screen_trials}: must be below "
                              f"{prefix}.trials ({self.trials}), or 0 for no screen")


def optimizers(config: XorCalibrationConfig) -> list[tuple[str, float]]:
    """(optimizer, lr) pairs of the grid."""
    return [("sgd", lr) for lr in config.sgd_lrs] + [("adam", lr) for lr in config.adam_lrs]


def init_variants(config: XorCalibrationConfig) -> list[dict[str, Any]]:
    """The init settings of the grid: {init, init_std, bias_init} (init_std is 0 where unused)."""
    weights = [(init, std) for init in config.inits
               for std in (config.normal_stds if init == "normal" else [0.0])]
    return [{"init": init, "init_std": std, "bias_init": bias} for init, std in weights for bias in config.bias_inits]


def grid(config: XorCalibrationConfig) -> list[dict[str, Any]]:
    """Every setting of the grid (its choices, ``CHOICE_KEYS``), in grid order."""
    return [{"activation": activation, "loss": loss, "optimizer": optimizer, "lr": lr, **variant}
            for activation in config.activations for optimizer, lr in optimizers(config)
            for loss in config.losses for variant in init_variants(config)]


def grid_size(config: XorCalibrationConfig) -> int:
    """Number of settings in the grid."""
    return len(grid(config))


def populations(settings: list[dict[str, Any]]) -> dict[tuple[str, str, float], list[int]]:
    """(activation, optimizer, lr) -> the indices of the settings that train together (every loss and init)."""
    groups: dict[tuple[str, str, float], list[int]] = {}
    for index, s in enumerate(settings):
        groups.setdefault((s["activation"], s["optimizer"], s["lr"]), []).append(index)
    return groups


def measure(config: XorCalibrationConfig, settings: list[dict[str, Any]], seeds: list[int], device: torch.device,
            label: str, progress: bool = True) -> list[dict[str, Any]]:
    """The random-init rates {width: {db, zl, ...}} of every setting, one net per seed and width."""
    data, rates = xor_split(device), [{} for _ in settings]
    work = [(key, chosen, width) for key, chosen in populations(settings).items() for width in config.hidden_units]
    for (activation, optimizer, lr), chosen, width in tqdm(work, desc=label, disable=not progress):
        model = xor_net(width, activation)
        parts = [xor_init(model, seeds, s["init"], s["init_std"] or 1.0, s["bias_init"], s["loss"], device)
                 for s in (settings[i] for i in chosen)]
        init = {name: torch.cat([part[name] for part in parts]) for name in parts[0]}
        members = len(chosen) * len(seeds)
        job = TrainJob(model, init, {}, TrainSettings(config.iterations, optimizer=optimizer, lr=lr), data,
                       seeds * len(chosen), evaluations={"train": data})
        result = train_in_processes(job, members, worker_count(device, members))
        loss, accuracy = result.curves["train"]["loss"][:, -1], result.curves["train"]["accuracy"][:, -1]
        for k, index in enumerate(chosen):
            part = slice(k * len(seeds), (k + 1) * len(seeds))
            rates[index][str(width)] = success_rates(loss[part], accuracy[part], config.zero_loss_threshold)
    return rates


def calibrate(config: XorCalibrationConfig, device: torch.device, progress: bool = True,
              times: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """Every setting of the grid with its screen rates (``screen``) and, for the finalists (or, without a screen,
    every setting), its rates at ``trials`` nets (``rates``): [{activation, loss, optimizer, lr, init, init_std,
    bias_init, screen?, rates?}] in grid order. ``times`` receives the seconds of the screen and the final run."""
    times = {} if times is None else times
    settings, start = grid(config), time.perf_counter()
    final_seeds = [config.seed + i for i in range(config.trials)]
    if config.screen_trials:
        screen_seeds = [config.seed + config.trials + i for i in range(config.screen_trials)]
        settings = [{**s, "screen": r} for s, r in zip(settings, measure(config, settings, screen_seeds, device,
                                                                         "xor calibration screen", progress))]
        finalists = ranked(settings, "screen")[:config.finalists]
        times["screen_s"] = round(time.perf_counter() - start, 1)
    else:
        finalists = settings
    middle = time.perf_counter()
    rates = measure(config, [{k: s[k] for k in CHOICE_KEYS} for s in finalists], final_seeds, device,
                    "xor calibration", progress)
    for chosen, rate in zip(finalists, rates):
        chosen["rates"] = rate
    times["final_s"] = round(time.perf_counter() - middle, 1)
    return settings


SECTIONS = {"xor_calibration": XorCalibrationConfig, **NUMERICS}


def stage(run: StageRun) -> str:
    """Every setting of the grid on the random-init table; writes results/xor/calibration.json and its timing."""
    loaded = run.section("xor_calibration", XorCalibrationConfig)
    config, compute = loaded.config, Compute.pick(run)
    start = time.perf_counter()
    times: dict[str, float] = {}
    settings = calibrate(config, compute.device, times=times)
    write_results(run.results / "xor" / "calibration.json", loaded, compute, settings=settings)
    write_timing(run.results / "xor" / "calibration_timing.json", start, compute.device, **times)
    final = sum("rates" in s for s in settings)
    screen = (f"screen of {grid_size(config)} settings at {config.screen_trials} trials, then "
              if config.screen_trials else "")
    return (f"{screen}{final} settings at {config.trials} trials, {len(config.hidden_units)} widths, on "
            f"{compute.device.type}")
