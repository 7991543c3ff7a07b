"""The first version's MNIST parameter sweeps (Frankle & Carbin, arXiv 1803.03635v1 Section 6), in its setup
(LeNet, N(0, sigma) weights, zero biases, Adam): IMP with rewinding at several initialisation scales, at
several pruning rates per round, and at several network sizes (iteratively and one-shot).

Every setting and trial of one architecture trains in one population per round: the init-scale and rate
sweeps are one population (a member's init scale is just its initial weights; its rate, just how its mask is
pruned; settings whose rate reaches the target level in fewer rounds leave the population when they are
done); the size sweep trains one population per size.
"""
from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from lth.config import ConfigError, setting
from lth.core.masks import dense_masks, prune_by_rate
from lth.data import DeviceData
from lth.io import read_json_file, write_json_atomic
from lth.shared.driver import StudyDriver, study_fingerprint
from lth.shared.groups import InitGroup, paper_default
from lth.shared.lenet import MNIST_INPUTS, LenetSchedule, MnistConfig, imp_rounds, lenet
from lth.shared.lenet_v1 import MnistV1Config, MnistV1Lottery
from lth.shared.lottery import concat_members, rounds_needed
from lth.shared.members import derive_seed
from lth.shared.population import PopulationTrainer, ticket_seeds
from lth.shared.settings import check_batches_fit
from lth.shared.stage import NUMERICS, Compute, write_results, write_timing
from lth.stage_run import StageRun


@dataclass(frozen=True)
class SweepConfig(LenetSchedule):
    """What every sweep shares: the first version's LeNet setup and the IMP schedule (tickets only)."""
    init: str = paper_default(InitGroup, "init", "normal")


@dataclass(frozen=True)
class InitScaleConfig(SweepConfig):
    """v1 §6, initialisation: N(0, sigma) for sigma above and below the default 0.1."""
    init_stds: list[float] = setting([0.025, 0.05, 0.1, 0.2, 0.4], "the init scales (std of N(0, sigma))", min=0,
                                     min_exclusive=True)


@dataclass(frozen=True)
class PruningRateConfig(SweepConfig):
    """v1 §6, iterative pruning rates: each hidden layer at a rate per round, the output layer at half of it."""
    hidden_rates: list[float] = setting([0.1, 0.2, 0.4, 0.6, 0.8], "per-round pruning rates of the hidden layers "
                                        "(the output layer at half)", min=0, max=1, min_exclusive=True,
                                        max_exclusive=True)


@dataclass(frozen=True)
class NetworkSizeConfig(SweepConfig):
    """v1 §6, network size: LeNets wider and narrower than 300-100 (3:1), iteratively and one-shot pruned."""
    first_widths: list[int] = setting([75, 150, 300, 600, 1200], "first hidden layer width of each network "
                                      "(the second has a third of it: 300 -> 300-100)", min=3)
    one_shot_rounds: list[int] = setting([1, 2, 3, 4, 5, 7, 9, 11, 13, 15, 17],
                                         "one-shot levels, as the iterative round whose Pm they match", min=1)

    def check(self, prefix: str) -> None:
        """The schedule fits the training; every one-shot level exists for every size."""
        super().check(prefix)
        check_size_rounds(self, prefix)

    @property
    def sizes(self) -> list[list[int]]:
        """Every network's hidden widths, 3:1 like LeNet-300-100."""
        return [[w, round(w / 3)] for w in self.first_widths]


@dataclass(frozen=True)
class Setting:
    """One setting of a sweep: its label, the swept value, its init std and per-layer pruning rates."""
    label: str
    value: float
    init_std: float
    rates: dict[str, float]


def _layer_rates(names: list[str], hidden: float, output: float) -> dict[str, float]:
    return {n: (output if n == names[-1] else hidden) for n in names}


def init_scale_settings(config: InitScaleConfig, names: list[str]) -> list[Setting]:
    """One setting per init std, every one pruned at the config's rates."""
    rates = _layer_rates(names, config.hidden_rate, config.output_rate)
    return [Setting(f"sigma {std:g}", std, std, rates) for std in config.init_stds]


def pruning_rate_settings(config: PruningRateConfig, names: list[str]) -> list[Setting]:
    """One setting per hidden-layer rate, the output layer at half of it, all at the config's init."""
    return [Setting(f"rate {rate:g}", rate, config.init_std, _layer_rates(names, rate, rate / 2))
            for rate in config.hidden_rates]


class SweepLottery:
    """IMP with rewinding of several settings (init scale, pruning rate) of one LeNet in one population (a
    resumable study: one step per round).

    Trial t of every setting starts from the same standard-normal draws (its seed), scaled by the setting's
    std, so settings differ only in what they sweep. Each round prunes every member at its own setting's
    rates; a setting leaves the population after the round that takes it to ``min_remaining``.
    ``make_settings(config, layer names)`` lists the settings (``init_scale_settings``, ``pruning_rate_settings``)."""

    def __init__(self, config: SweepConfig, make_settings: Callable[[Any, list[str]], list[Setting]],
                 data: DeviceData, device: torch.device, checkpoint: Path, progress: bool = True,
                 label: str = "sweep"):
        check_batches_fit(label, config.batch_size, len(data.train))
        inputs = data.train.x.shape[1]
        model = lenet(MnistConfig(hidden_sizes=list(config.hidden_sizes)), inputs)
        names = model.layer_names
        settings = make_settings(config, names)
        sizes = {n: fan_in * fan_out for n, fan_in, fan_out in zip(names, model.sizes[:-1], model.sizes[1:])}
        self.config, self.model, self.names, self.device, self.trials = config, model, names, device, config.trials
        self.sweep = settings
        self.last_round = {s.label: rounds_needed(sizes, s.rates, config.min_remaining) for s in settings}
        self.rounds = max(self.last_round.values())
        self.init = concat_members([model.init_params(ticket_seeds(config), config.init, s.init_std, device=device)
                                    for s in settings])
        self.driver = StudyDriver(checkpoint, study_fingerprint(config, data), label, device, progress)
        self.trainer = PopulationTrainer(model, config.to_train_settings(), data, names, self.driver, config.seed,
                                         device, split_over_processes=True)

    def _members(self, index: int) -> slice:
        return slice(index * self.trials, (index + 1) * self.trials)

    def _round_step(self, r: int, state: dict[str, Any]) -> None:
        """Round r: prune every setting still in the population at its own rates (round 0: dense), rewind, train."""
        active = [i for i, s in enumerate(self.sweep) if self.last_round[s.label] >= r]
        masks = state["masks"]
        if r > 0:
            masks = dict(masks)
            for i in active:
                part = self._members(i)
                pruned = prune_by_rate({n: state["trained"][n][part].abs() for n in self.names},
                                       {n: m[part] for n, m in masks.items()}, self.sweep[i].rates)
                masks = {n: torch.cat([m[:part.start], pruned[n], m[part.stop:]]) for n, m in masks.items()}
        index = torch.cat([torch.arange(self._members(i).start, self._members(i).stop) for i in active])
        index = index.to(self.device)
        roles = [self.sweep[i].label for i in active for _ in range(self.trials)]
        # a member's batch order depends on its setting and trial only, not on who trains beside it
        seeds = [derive_seed(self.config.seed, "data", self.sweep[i].label, r, t)
                 for i in active for t in range(self.trials)]
        result, summary = self.trainer.train({n: p[index] for n, p in self.init.items()},
                                             {n: m[index] for n, m in masks.items()}, roles, r, "sweep", None, seeds)
        trained = {n: p.clone() for n, p in (state["trained"] or self.init).items()}
        for n in trained:
            trained[n][index] = result.params[n]
        state["masks"], state["trained"] = masks, trained
        state["rounds"].append({"round": r, **summary})

    def run(self) -> dict[str, Any]:
        """Every round of every setting (resuming from the checkpoint), then the results per setting."""
        self.driver.start(lambda: {"rounds": [], "masks": dense_masks(self.init, self.names), "trained": None})
        state = self.driver.run([(f"round {r}", functools.partial(self._round_step, r))
                                 for r in range(self.rounds + 1)], unit="rounds")
        return {"settings": [{"label": s.label, "value": s.value, "init_std": s.init_std, "rates": s.rates,
                              "rounds": [{"round": rec["round"], "ticket": rec[s.label]}
                                         for rec in state["rounds"] if s.label in rec]}
                             for s in self.sweep],
                "weights": {n: int(self.init[n][0].numel()) for n in self.names}}


def size_config(config: NetworkSizeConfig, size: list[int]) -> MnistV1Config:
    """The v1 lottery of one network size: tickets only (iterative and one-shot), the sweep's schedule."""
    shared = {f.name: getattr(config, f.name) for f in dataclasses.fields(SweepConfig)}
    return MnistV1Config(**{**shared, "hidden_sizes": list(size), "reinit_per_ticket": 0, "rewire_per_ticket": 0,
                            "random_mask_per_ticket": 0, "han_baseline": False, "one_shot_controls": False,
                            "one_shot_rounds": list(config.one_shot_rounds), "curve_rounds": []})


def check_size_rounds(config: NetworkSizeConfig, prefix: str = "sweep_network_size") -> None:
    """Every one-shot level exists in the iterative schedule of every size."""
    for size in config.sizes:
        last = imp_rounds(size_config(config, size), MNIST_INPUTS)
        for r in config.one_shot_rounds:
            if r > last:
                raise ConfigError(f"params.yaml: {prefix}.one_shot_rounds contains {r}: size {size} is pruned "
                                  f"to min_remaining in {last} rounds")


def run_size_sweep(config: NetworkSizeConfig, data: DeviceData, device: torch.device, checkpoints: Path,
                   progress: bool = True) -> dict[str, Any]:
    """Every network size's iterative and one-shot tickets, one population per size. A finished size is kept
    in ``checkpoints`` (with its lottery's fingerprint) and not trained again when the stage is re-run after
    a kill; an unfinished one resumes from its own checkpoint."""
    check_size_rounds(config)
    out = []
    for size in config.sizes:
        name = "-".join(str(w) for w in size)
        lottery = MnistV1Lottery(size_config(config, size), data, device, checkpoints / f"{name}.pt", progress)
        lottery.label = f"sweep size {name}"
        done = checkpoints / f"{name}.json"
        saved = read_json_file(done, fix=f"it holds size {name}'s finished result: restore a good copy, or "
                               "delete it to train that size again") if done.exists() else None
        if saved is None or saved.get("fingerprint") != lottery.fingerprint:
            result = lottery.run()
            result = {"rounds": result["rounds"], "one_shot": result["one_shot"], "weights": result["weights"]}
            write_json_atomic(done, {"fingerprint": lottery.fingerprint, "result": result})
            (checkpoints / f"{name}.pt").unlink(missing_ok=True)
        else:
            result = saved["result"]
        out.append({"label": name, "sizes": list(size), "weights_total": sum(result["weights"].values()), **result})
    return {"sizes": out}


SECTIONS = {"sweep_init_scale": InitScaleConfig, "sweep_pruning_rate": PruningRateConfig,
            "sweep_network_size": NetworkSizeConfig, **NUMERICS}
SWEEP_SETTINGS = {"init_scale": init_scale_settings, "pruning_rate": pruning_rate_settings}
ITEMS = (("kind", ("init_scale", "network_size", "pruning_rate"), "which sweep (params section sweep_<kind>)"),)


def stage(run: StageRun) -> str:
    """One sweep (``sweeps init_scale``); writes results/sweeps/<kind>.json and its timing file (resuming from
    checkpoints/sweeps/ after a kill)."""
    kind, = run.items
    loaded = run.section(f"sweep_{kind}", SECTIONS[f"sweep_{kind}"])
    config, compute = loaded.config, Compute.pick(run)
    data = compute.load(run, "mnist")
    checkpoints, start = run.checkpoints / "sweeps", time.perf_counter()
    if kind == "network_size":
        results = run_size_sweep(config, data, compute.device, checkpoints / kind)
        count = len(results["sizes"])
    else:
        checkpoint = checkpoints / f"{kind}.pt"
        lottery = SweepLottery(config, SWEEP_SETTINGS[kind], data, compute.device, checkpoint, label=f"sweep {kind}")
        results = lottery.run()
        checkpoint.unlink(missing_ok=True)
        count = len(results["settings"])
    write_results(run.results / "sweeps" / f"{kind}.json", loaded, compute, **results)
    write_timing(run.results / "sweeps" / f"{kind}_timing.json", start, compute.device)
    return f"{count} settings, {config.trials} trials"
