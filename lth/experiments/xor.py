"""XOR unit pruning (first version of the paper, Section 2).

(a) Random init: how often a 2-H-1 net trained from a random init finds the XOR decision boundary (DB:
all four points classified correctly) and reaches zero loss (ZL: mean binary cross-entropy below a stated
threshold) after a fixed number of full-batch iterations.
(b) Pruning: train 2-10-1 nets, remove hidden units by a heuristic (one-shot, or iteratively a few units
per round with retraining), reset the survivors to their original init and retrain.
Every configuration is one population: thousands of trials train in lock-step.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from lth.config import ConfigError, setting
from lth.core.engine import TrainJob, train_population
from lth.core.masks import keep_top_units, unit_masks_for_mlp, unit_scores
from lth.core.models import PopulationMLP
from lth.data import Split
from lth.shared.groups import INITS, OptimizerGroup, TrainingGroups, TrialsGroup, paper_default
from lth.shared.members import tile
from lth.shared.stage import Compute, write_results, write_timing
from lth.shared.xor_net import BIAS_INITS, success_rates, xor_init, xor_split
from lth.stage_run import StageRun


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
    init: str = setting("normal", "weight init (biases start at 0)", choices=INITS)
    init_std: float = setting(1.0, "standard deviation of the 'normal' init", min=0, min_exclusive=True)
    bias_init: str = setting("zero", "biases start at 0, or drawn like their layer's weights", choices=BIAS_INITS)
    zero_loss_threshold: float = setting(0.01, "a net 'reaches zero loss' when its mean binary "
                                         "cross-entropy on the four points is below this", min=0,
                                         min_exclusive=True)
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



def _train(config: XorConfig, model: PopulationMLP, init: dict[str, torch.Tensor], masks: dict,
           seeds: list[int], data: Split, label: str) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    result = train_population(TrainJob(model, init, masks, config.to_train_settings(), data, seeds,
                                       evaluations={"train": data}, progress=label))
    return result.params, result.curves["train"]["loss"][:, -1], result.curves["train"]["accuracy"][:, -1]


def random_init_table(config: XorConfig, device: torch.device, progress: bool = True) -> dict[str, Any]:
    """Success rates of randomly initialised nets for every width in ``config.hidden_units``."""
    data = xor_split(device)
    seeds = [config.seed + i for i in range(config.trials)]
    table = {}
    for width in tqdm(config.hidden_units, desc="xor random init", disable=not progress):
        model = PopulationMLP((2, width, 1), config.activation)
        init = xor_init(model, seeds, config.init, config.init_std, config.bias_init, device)
        _, loss, accuracy = _train(config, model, init, {}, seeds, data, None)
        table[str(width)] = success_rates(loss, accuracy, config.zero_loss_threshold)
    return table


def pruning_table(config: XorConfig, device: torch.device, progress: bool = True) -> dict[str, Any]:
    """Success rates of pruned-and-reset nets for every heuristic, mode and target width.

    All heuristics (and, for one-shot, all targets) of a round train as one population.
    """
    pruning = config.pruning
    data = xor_split(device)
    trials = config.trials
    seeds = [config.seed + i for i in range(trials)]
    model = PopulationMLP((2, pruning.start_units, 1), config.activation)
    init = xor_init(model, seeds, config.init, config.init_std, config.bias_init, device)
    all_alive = torch.ones(trials, pruning.start_units, dtype=torch.bool, device=device)
    trained, loss, accuracy = _train(config, model, init, {}, seeds, data, "xor dense")
    table: dict[str, Any] = {"dense": success_rates(loss, accuracy, config.zero_loss_threshold)}
    targets = sorted(set(pruning.targets), reverse=True)
    heuristics = pruning.heuristics

    def run_population(alive: torch.Tensor, copies: int, label: str):
        masks = unit_masks_for_mlp(alive)
        return _train(config, model, tile(init, copies), masks, seeds * copies, data, label)

    if "one_shot" in pruning.modes:
        alive = torch.cat([keep_top_units(unit_scores(trained, h), all_alive, t)
                           for h in heuristics for t in targets])
        _, loss, accuracy = run_population(alive, len(heuristics) * len(targets), "xor one-shot")
        table["one_shot"] = {}
        for i, h in enumerate(heuristics):
            for j, t in enumerate(targets):
                part = slice((i * len(targets) + j) * trials, (i * len(targets) + j + 1) * trials)
                table["one_shot"].setdefault(h, {})[str(t)] = success_rates(
                    loss[part], accuracy[part], config.zero_loss_threshold)

    if "iterative" in pruning.modes:
        table["iterative"] = {h: {} for h in heuristics}
        alive = all_alive.repeat(len(heuristics), 1)
        current = tile(trained, len(heuristics))
        width = pruning.start_units
        rounds = math.ceil((pruning.start_units - min(targets)) / pruning.units_per_round)
        for round_index in tqdm(range(rounds), desc="xor iterative rounds", disable=not progress):
            width = max(width - pruning.units_per_round, min(targets))
            scores = torch.cat([unit_scores({k: v[i * trials:(i + 1) * trials] for k, v in current.items()}, h)
                                for i, h in enumerate(heuristics)])
            alive = keep_top_units(scores, alive, width)
            current, loss, accuracy = run_population(alive, len(heuristics), None)
            if width in targets:
                for i, h in enumerate(heuristics):
                    part = slice(i * trials, (i + 1) * trials)
                    table["iterative"][h][str(width)] = success_rates(loss[part], accuracy[part],
                                                                      config.zero_loss_threshold)
    return table


SECTIONS = {"xor": XorConfig}


def stage(run: StageRun) -> str:
    """The random-init and pruning tables; writes results/xor/results.json and results/xor/timing.json."""
    loaded = run.section("xor", XorConfig)
    config, compute = loaded.config, Compute.pick()
    start = time.perf_counter()
    random_init = random_init_table(config, compute.device)
    middle = time.perf_counter()
    pruning = pruning_table(config, compute.device)
    write_results(run.results / "xor" / "results.json", loaded, compute, random_init=random_init, pruning=pruning)
    write_timing(run.results / "xor" / "timing.json", start, compute.device, random_init_s=round(middle - start, 2),
                 pruning_s=round(time.perf_counter() - middle, 2))
    widest, narrowest = str(max(config.hidden_units)), str(min(config.hidden_units))
    return (f"{config.trials} trials per configuration on {compute.device.type}; random init DB "
            f"{random_init[widest]['db']:.1f}% at {widest} units, {random_init[narrowest]['db']:.1f}% "
            f"at {narrowest}")
