"""The XOR experiment's two tables (v1 §2) for one setting: the random-init table (how often 2-H-1 nets
trained from a random init find the decision boundary and reach zero loss) and the pruning table (2-10-1 nets
pruned by unit heuristics, one-shot or iteratively, survivors reset to their init and retrained). The `xor`
stage runs both at its setting; `xor_sensitivity` runs them at the calibration's closest settings.
Every configuration is one population: thousands of trials train in lock-step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from lth.config import ConfigError, setting
from lth.core.engine import TrainJob
from lth.core.masks import keep_top_units, unit_masks_for_mlp, unit_scores
from lth.core.processes import train_in_processes, worker_count
from lth.data import Split
from lth.shared.groups import INITS, OptimizerGroup, TrainingGroups, TrialsGroup, paper_default
from lth.shared.members import tile
from lth.shared.xor_net import (BIAS_INITS, LOSSES, ZERO_LOSS_HELP, XorNet, success_rates, xor_init, xor_net,
                                xor_split)


@dataclass(frozen=True)
class XorPruningConfig:
    start_units: int = setting(10, "hidden units of the network that is trained and then pruned", min=2)
    targets: list[int] = setting([4, 2], "hidden-unit counts at which pruned networks are reported", min=1)
    units_per_round: int = setting(2, "hidden units removed per round of iterative pruning", min=1)
    heuristics: list[str] = setting(["input_magnitude", "output_magnitude", "product"],
                                    "unit-scoring heuristics to compare",
                                    choices=("input_magnitude", "output_magnitude", "product"))
    modes: list[str] = setting(["one_shot", "iterative"], "pruning schedules to compare",
                               choices=("one_shot", "iterative"))


@dataclass(frozen=True)
class XorConfig(TrainingGroups, OptimizerGroup, TrialsGroup):
    """The XOR experiment's nets and training (v1 Section 2; what it leaves open: the calibration's choice)."""
    hidden_units: list[int] = setting([10, 8, 6, 4, 2], "widths of the randomly initialised 2-H-1 nets", min=1)
    trials: int = paper_default(TrialsGroup, "trials", 2000)
    iterations: int = setting(1000, "full-batch training iterations on the four XOR points", min=1)
    lr: float = paper_default(OptimizerGroup, "lr", 0.01)
    momentum: float = setting(0.0, "SGD momentum", min=0, max=1, max_exclusive=True)
    activation: str = setting("relu", "hidden activation", choices=("relu", "tanh", "sigmoid"))
    loss: str = setting("bce", "training loss of the sigmoid output: binary cross-entropy or mean squared error",
                        choices=LOSSES)
    init: str = setting("normal", "weight init (biases start at 0)", choices=INITS)
    init_std: float = setting(1.0, "standard deviation of the 'normal' init", min=0, min_exclusive=True)
    bias_init: str = setting("zero", "biases start at 0, or drawn like their layer's weights", choices=BIAS_INITS)
    zero_loss_threshold: float = setting(0.01, ZERO_LOSS_HELP, min=0, min_exclusive=True)
    pruning: XorPruningConfig = field(default_factory=XorPruningConfig, metadata={"help": "unit pruning"})

    def train_fields(self) -> dict[str, Any]:
        """Engine settings this schema sets besides its groups': full-batch length and momentum."""
        return {"iterations": self.iterations, "momentum": self.momentum}

    def check(self, prefix: str) -> None:
        """Pruning targets below the starting width and reachable from it in steps of ``units_per_round``."""
        pruning = self.pruning
        bad = [t for t in pruning.targets if t >= pruning.start_units]
        if bad:
            raise ConfigError(f"params.yaml: {prefix}.pruning.targets = {pruning.targets}: every target must be "
                              f"below {prefix}.pruning.start_units ({pruning.start_units}); {bad[0]} is not")
        if "iterative" in pruning.modes:
            lowest = min(pruning.targets)
            missed = [t for t in pruning.targets
                      if t != lowest and (pruning.start_units - t) % pruning.units_per_round]
            if missed:
                raise ConfigError(f"params.yaml: {prefix}.pruning.targets = {pruning.targets}: iterative pruning "
                                  f"from {pruning.start_units} units in steps of {pruning.units_per_round} "
                                  f"(pruning.units_per_round) never has {missed[0]} units")


def initial(config: XorConfig, model: XorNet, seeds: list[int], device: torch.device) -> dict[str, torch.Tensor]:
    """The config's initial parameters (and loss flag) of one net per seed."""
    return xor_init(model, seeds, config.init, config.init_std, config.bias_init, config.loss, device)


def _train(config: XorConfig, model: XorNet, init: dict[str, torch.Tensor], masks: dict,
           seeds: list[int], data: Split, label: str) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    job = TrainJob(model, init, masks, config.to_train_settings(), data, seeds, evaluations={"train": data},
                   progress=label)
    # split over single-thread worker processes, as the calibration trains: the same bits as one process
    result = train_in_processes(job, job.members, worker_count(data.x.device, job.members))
    return result.params, result.curves["train"]["loss"][:, -1], result.curves["train"]["accuracy"][:, -1]


def random_init_table(config: XorConfig, device: torch.device, progress: bool = True) -> dict[str, Any]:
    """Success rates of randomly initialised nets for every width in ``config.hidden_units``."""
    data = xor_split(device)
    seeds = [config.seed + i for i in range(config.trials)]
    table = {}
    for width in tqdm(config.hidden_units, desc="xor random init", disable=not progress):
        model = xor_net(width, config.activation)
        _, loss, accuracy = _train(config, model, initial(config, model, seeds, device), {}, seeds, data, None)
        table[str(width)] = success_rates(loss, accuracy, config.zero_loss_threshold)
    return table


def pruning_table(config: XorConfig, device: torch.device, progress: bool = True) -> dict[str, Any]:
    """Success rates of pruned-and-reset nets for every heuristic, mode and target width.

    All heuristics (and, for one-shot, all targets) of a round train as one population.
    """
    pruning = config.pruning
    data = xor_split(device)
    seeds = [config.seed + i for i in range(config.trials)]
    model = xor_net(pruning.start_units, config.activation)
    init = initial(config, model, seeds, device)
    trained, loss, accuracy = _train(config, model, init, {}, seeds, data, "xor dense")
    table: dict[str, Any] = {"dense": success_rates(loss, accuracy, config.zero_loss_threshold)}

    def run_population(alive: torch.Tensor, copies: int, label: str | None):
        masks = unit_masks_for_mlp(alive)
        return _train(config, model, tile(init, copies), masks, seeds * copies, data, label)

    if "one_shot" in pruning.modes:
        table["one_shot"] = _one_shot(config, trained, run_population)
    if "iterative" in pruning.modes:
        table["iterative"] = _iterative(config, trained, run_population, progress)
    return table


def _rates_of(config: XorConfig, loss: torch.Tensor, accuracy: torch.Tensor, part: int) -> dict[str, Any]:
    """Success rates of copy ``part`` of a population of copies of the trials."""
    rows = slice(part * config.trials, (part + 1) * config.trials)
    return success_rates(loss[rows], accuracy[rows], config.zero_loss_threshold)


def _one_shot(config: XorConfig, trained: dict[str, torch.Tensor], run_population) -> dict[str, Any]:
    """Every heuristic's one-shot pruning of the trained dense nets to every target, in one population."""
    heuristics, targets = config.pruning.heuristics, sorted(set(config.pruning.targets), reverse=True)
    all_alive = torch.ones(config.trials, config.pruning.start_units, dtype=torch.bool,
                           device=trained["fc0.weight"].device)
    alive = torch.cat([keep_top_units(unit_scores(trained, h), all_alive, t) for h in heuristics for t in targets])
    _, loss, accuracy = run_population(alive, len(heuristics) * len(targets), "xor one-shot")
    return {h: {str(t): _rates_of(config, loss, accuracy, i * len(targets) + j) for j, t in enumerate(targets)}
            for i, h in enumerate(heuristics)}


def _iterative(config: XorConfig, trained: dict[str, torch.Tensor], run_population, progress: bool) -> dict[str, Any]:
    """Every heuristic's iterative pruning (``units_per_round`` a round, retrained from the reset init each
    round), the heuristics side by side in one population."""
    pruning, trials = config.pruning, config.trials
    heuristics, targets = pruning.heuristics, sorted(set(pruning.targets), reverse=True)
    table: dict[str, Any] = {h: {} for h in heuristics}
    alive = torch.ones(trials * len(heuristics), pruning.start_units, dtype=torch.bool,
                       device=trained["fc0.weight"].device)
    current = tile(trained, len(heuristics))
    width = pruning.start_units
    rounds = math.ceil((pruning.start_units - min(targets)) / pruning.units_per_round)
    for _ in tqdm(range(rounds), desc="xor iterative rounds", disable=not progress):
        width = max(width - pruning.units_per_round, min(targets))
        scores = torch.cat([unit_scores({k: v[i * trials:(i + 1) * trials] for k, v in current.items()}, h)
                            for i, h in enumerate(heuristics)])
        alive = keep_top_units(scores, alive, width)
        current, loss, accuracy = run_population(alive, len(heuristics), None)
        if width in targets:
            for i, h in enumerate(heuristics):
                table[h][str(width)] = _rates_of(config, loss, accuracy, i)
    return table
