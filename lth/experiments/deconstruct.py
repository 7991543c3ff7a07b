"""Zhou et al. (2019), "Deconstructing Lottery Tickets: Zeros, Signs, and the Supermask", on LeNet-300-100 (MNIST) and
Conv-2/4/6 (CIFAR-10), one lottery per net: which mask (criteria), which values for the kept weights (mask-1
actions) and for the pruned ones (mask-0 actions), and masks that work without training (supermasks).

One dense training per trial gives each weight's initial and final value. At every level (one-shot pruning at the
LTH's per-layer rates, as many rounds' worth as the level says) every variant is a member of one population: each
mask criterion (rewind, zero), each mask-1 action (large_final mask, zero) and, in a second population whose model
freezes the pruned weights, each mask-0 action (large_final mask, rewind). The LTH's own ticket (large_final,
rewind, zero) is trained once and is the reference of every family. All variants of one trial and level see the same
batches (paired comparisons). Supermasks are evaluated untrained; the learned supermask trains only a mask over the
fixed initial weights."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lth.config import ConfigError, setting
from lth.core.actions import MASK0_ACTIONS, MASK1_ACTIONS, constant_init_sign, frozen_values, start_values
from lth.core.criteria import MASK_CRITERIA, criterion_scores, ranks
from lth.core.engine import evaluate
from lth.core.frozen import Supermask, WithFrozenWeights, supermask_of
from lth.core.masks import Masks, dense_masks, remaining_fraction
from lth.data import DeviceData
from lth.shared.driver import StudyDriver, store, study_fingerprint
from lth.shared.groups import TrialsGroup, paper_default
from lth.shared.lenet import LenetSchedule
from lth.shared.lottery import concat_members, one_shot_masks
from lth.shared.members import derive_seed
from lth.shared.population import PopulationTrainer, fresh_init, ticket_init
from lth.shared.stage import NUMERICS, run_study
from lth.shared.study_nets import DATASETS, STUDY_NETS, ConvSchedule, study_net
from lth.shared.subsets import population_chunk
from lth.stage_run import StageRun

BASE = "criterion/large_final"      # the LTH's ticket: large_final mask, rewind, zero
TRAINED_CRITERIA = ("large_final", "small_final", "large_init", "small_init", "large_init_large_final",
                    "small_init_small_final", "magnitude_increase", "movement", "random")
SUPERMASKS = {   # name -> (mask criterion, values of the kept weights)
    "large_final, init values": ("large_final", "init"),
    "large_final_same_sign, init values": ("large_final_same_sign", "init"),
    "large_final_same_sign, signed constant": ("large_final_same_sign", "signed_constant"),
    "random, init values": ("random", "init"),
}


@dataclass(frozen=True)
class DeconstructConfig(LenetSchedule, ConvSchedule):
    """LeNet-300-100 on MNIST as the final paper trains it, and Conv-2/4/6 on CIFAR-10; Zhou et al.'s variants
    at one-shot levels."""
    nets: list[str] = setting(list(STUDY_NETS), "networks the variants run on (each one lottery)",
                              choices=STUDY_NETS)
    levels: list[int] = setting([2, 5, 9, 13], "one-shot pruning levels, as the IMP round whose per-layer "
                                "fractions they keep (rates hidden_rate / output_rate)", min=1)
    criteria: list[str] = setting(list(TRAINED_CRITERIA), "mask criteria trained at every level (rewind, zero)",
                                  choices=tuple(MASK_CRITERIA))
    mask1_actions: list[str] = setting([a for a in MASK1_ACTIONS if a != "rewind"], "mask-1 actions trained "
                                       "at every level besides rewind (large_final mask, zero)",
                                       choices=tuple(a for a in MASK1_ACTIONS if a != "rewind"), allow_empty=True)
    mask0_actions: list[str] = setting([a for a in MASK0_ACTIONS if a != "zero"], "mask-0 actions trained at "
                                       "every level besides zero (large_final mask, rewind)",
                                       choices=tuple(a for a in MASK0_ACTIONS if a != "zero"), allow_empty=True)
    supermask_levels: list[int] = setting(list(range(1, 21)), "levels (IMP rounds' worth) at which the untrained "
                                          "supermasks are evaluated", min=1)
    learned_iterations: int = setting(5000, "iterations of learned-supermask training (0 = not run)", min=0)
    learned_lr: float = setting(0.1, "Adam's rate for the learned supermask's scores", min=0, min_exclusive=True)
    seed: int = paper_default(TrialsGroup, "seed", 5)

    def check(self, prefix: str) -> None:
        """The schedule fits the training; the LTH's own criterion is trained (every family's reference); every
        level is distinct and still prunes every net."""
        super().check(prefix)
        self.check_nets(prefix)
        if "large_final" not in self.criteria:
            raise ConfigError(f"params.yaml: {prefix}.criteria = {self.criteria}: must contain large_final (the "
                              "LTH's ticket, the reference of every family)")
        for key in ("levels", "supermask_levels"):
            values = getattr(self, key)
            if len(set(values)) != len(values):
                raise ConfigError(f"params.yaml: {prefix}.{key} = {values}: levels must differ")
            self.check_levels(prefix, key)
        if self.learned_iterations and self.learned_iterations < self.eval_every:
            raise ConfigError(f"params.yaml: {prefix}.learned_iterations = {self.learned_iterations}: must be 0 "
                              f"(off) or at least {prefix}.eval_every ({self.eval_every})")


def keep_by_score(scores: dict[str, torch.Tensor], names: list[str], rates: dict[str, float],
                  rounds: int) -> Masks:
    """Masks keeping, of each layer, the highest-scoring weights that ``rounds`` IMP rounds at ``rates``
    would leave (the one-shot pruning of the lottery, by any score)."""
    return one_shot_masks({n: ranks(scores[n]) for n in names}, names, rates, rounds)


def supermask_params(values: str, init: dict[str, torch.Tensor], masks: Masks,
                     names: list[str]) -> dict[str, torch.Tensor]:
    """An untrained pruned network: the kept weights at their initial values (``init``) or at the signed
    constant (``signed_constant``), the rest of ``init`` (biases) as it is."""
    out = {n: p.clone() for n, p in init.items()}
    for name in names:
        kept = init[name] if values == "init" else constant_init_sign(init[name], masks[name], init[name], [])
        out[name] = kept * masks[name]
    return out


class DeconstructLottery:
    """Dense training, then every variant at every level, the untrained supermasks and the learned one (a
    resumable study of five steps: dense, plain, frozen, supermasks, learned)."""

    def __init__(self, config: DeconstructConfig, data: DeviceData, device: torch.device, checkpoint: Path,
                 progress: bool = True, net: str = "lenet"):
        spec = study_net(config, net, data, "deconstruct")
        self.config, self.model, self.names, self.rates = config, spec.model, spec.names, spec.rates
        self.data, self.device, self.trials = spec.data, device, config.trials
        _, self.init = ticket_init(spec.model, config, device)
        self.driver = StudyDriver(checkpoint, study_fingerprint(config, spec.data), f"deconstruct {net}", device,
                                  progress)
        self.trainer = PopulationTrainer(spec.model, spec.settings, spec.data, spec.names, self.driver, config.seed,
                                         device, chunk=None if net == "lenet" else population_chunk(device),
                                         split_over_processes=net == "lenet")
        self._members: dict[int, tuple] | None = None

    # ------------------------------------------------------------------------------------------ variants
    def variants(self) -> list[str]:
        """Roles in population order: the criteria, then the mask-1 actions (the frozen ones train apart)."""
        config = self.config
        return [f"criterion/{c}" for c in config.criteria] + [f"mask1/{a}" for a in config.mask1_actions]

    def _masks(self, criterion: str, level: int) -> Masks:
        seeds = [derive_seed(self.config.seed, "random mask", level, t) for t in range(self.trials)]
        scores = criterion_scores(criterion, self.init, self.driver.state["trained"], self.names, seeds)
        return keep_by_score(scores, self.names, self.rates, level)

    def _level_members(self, level: int) -> tuple[list[dict], list[Masks], list[dict], list[Masks]]:
        """(start values, masks) of the plain population's and of the frozen population's members at ``level``."""
        T, config = self.trials, self.config
        base = self._masks("large_final", level)
        fresh = fresh_init(self.model, config, 1, f"deconstruct {level}", self.device)
        action_seeds = [derive_seed(config.seed, "mask-1", level, t) for t in range(T)]
        params, masks = [], []
        for criterion in config.criteria:
            m = base if criterion == "large_final" else self._masks(criterion, level)
            params.append(start_values("rewind", self.init, m, fresh, action_seeds, self.names))
            masks.append(m)
        for action in config.mask1_actions:
            params.append(start_values(action, self.init, base, fresh, action_seeds, self.names))
            masks.append(base)
        frozen_params, frozen_masks = [], []
        rewound = start_values("rewind", self.init, base, fresh, action_seeds, self.names)
        for action in config.mask0_actions:
            frozen = frozen_values(action, self.init, self.driver.state["trained"], base, self.names)
            frozen_params.append(self.frozen_model.with_frozen(rewound, frozen))
            frozen_masks.append(base)
        return params, masks, frozen_params, frozen_masks

    @property
    def frozen_model(self) -> WithFrozenWeights:
        """The model of the mask-0 population: pruned weights at frozen values."""
        return WithFrozenWeights(self.model, tuple(self.names))

    def _train_levels(self, kinds: list[str], parts: list[tuple[list[dict], list[Masks]]], label: str,
                      model: Any) -> dict[str, Any]:
        """Train every level's members of one population; the summary per level and role."""
        T, levels = self.trials, list(self.config.levels)
        params = concat_members([p for level_params, _ in parts for p in level_params])
        masks = concat_members([m for _, level_masks in parts for m in level_masks])
        roles = [f"{level}|{kind}" for level in levels for kind in kinds for _ in range(T)]
        seeds = [derive_seed(self.config.seed, "data", "retrain", level, t)
                 for level in levels for _ in kinds for t in range(T)]
        _, summary = self.trainer.train(params, masks, roles, 0, label, None, seeds, model=model)
        return summary

    # --------------------------------------------------------------------------------------- supermasks
    def _supermasks(self) -> dict[str, Any]:
        """Test accuracy of every supermask, untrained, at every supermask level (one value per trial)."""
        out: dict[str, Any] = {}
        for name, (criterion, values) in SUPERMASKS.items():
            pms, accuracies = [], []
            for level in self.config.supermask_levels:
                masks = self._masks(criterion, level)
                _, accuracy = evaluate(self.model, supermask_params(values, self.init, masks, self.names),
                                       self.data.test)
                pms.append(round(float(remaining_fraction(masks, self.names)[0]), 6))
                accuracies.append([round(float(a), 6) for a in accuracy])
            out[name] = {"levels": list(self.config.supermask_levels), "pm": pms, "accuracy": accuracies}
        return out

    def _learned_supermask(self) -> dict[str, Any]:
        """A mask trained on the fixed initial weights (scores start at small random values: about half the
        weights on); its accuracy at early stop and the fraction of weights it keeps."""
        config, T = self.config, self.trials
        model = Supermask(self.model, tuple(self.names))
        generators = [torch.Generator().manual_seed(derive_seed(config.seed, "scores", t)) for t in range(T)]
        scores = {n: torch.stack([(torch.rand(self.init[n].shape[1:], generator=g) - 0.5) * 0.02
                                  for g in generators]).to(self.init[n]) for n in self.names}
        settings = config.to_train_settings(lr=config.learned_lr, iterations=config.learned_iterations)
        seeds = [derive_seed(config.seed, "data", "learned supermask", t) for t in range(T)]
        result, summary = self.trainer.train(model.params(self.init, scores), {}, ["learned"] * T, 0,
                                             "learned supermask", None, seeds, model=model, settings=settings)
        kept = {n: supermask_of(result.best_params[n]) for n in self.names}
        record = summary["learned"]
        record["pm"] = [round(float(v), 6) for v in remaining_fraction(kept, self.names)]
        return record

    # ------------------------------------------------------------------------------------------- driver
    def _dense_step(self, state: dict[str, Any]) -> None:
        """Every trial's dense training: its summary, and its trained weights (what the criteria prune by)."""
        seeds = [derive_seed(self.config.seed, "data", "dense", t) for t in range(self.trials)]
        result, summary = self.trainer.train(self.init, dense_masks(self.init, self.names), ["dense"] * self.trials,
                                             0, "dense", None, seeds)
        state["trained"], state["dense"] = result.params, summary["dense"]

    def level_members(self) -> dict[int, tuple]:
        """Every level's members (``_level_members``), made once from the dense training."""
        if self._members is None:
            self._members = {level: self._level_members(level) for level in self.config.levels}
        return self._members

    def _plain(self) -> dict[str, Any]:
        members = self.level_members()
        return self._train_levels(self.variants(), [members[lv][:2] for lv in self.config.levels], "variants",
                                  self.model)

    def _frozen(self) -> dict[str, Any]:
        kinds = [f"mask0/{a}" for a in self.config.mask0_actions]
        if not kinds:
            return {}
        members = self.level_members()
        return self._train_levels(kinds, [members[lv][2:] for lv in self.config.levels], "mask-0", self.frozen_model)

    def run(self) -> dict[str, Any]:
        """Dense, the plain and the frozen population, the supermasks (resuming from the checkpoint)."""
        self.driver.start(lambda: {"dense": None, "plain": None, "frozen": None, "supermasks": None,
                                   "learned": None})
        state = self.driver.run([
            ("dense", self._dense_step), store("plain", self._plain), store("frozen", self._frozen),
            store("supermasks", self._supermasks),
            store("learned", lambda: self._learned_supermask() if self.config.learned_iterations else {})])
        levels = []
        for level in self.config.levels:
            roles = {**state["plain"], **state["frozen"]}
            variants = {role.split("|", 1)[1]: record for role, record in roles.items()
                        if role.split("|", 1)[0] == str(level)}
            levels.append({"round": level, "pm": variants[BASE]["pm"][0], "variants": variants})
        return {"dense": state["dense"], "levels": levels, "supermasks": state["supermasks"],
                "learned_supermask": state["learned"], "layer_rates": self.rates,
                "weights": {n: int(self.init[n][0].numel()) for n in self.names}}


SECTIONS = {"deconstruct": DeconstructConfig, **NUMERICS}


def stage(run: StageRun) -> str:
    """Every net of ``deconstruct.nets``; writes results/deconstruct/<net>.json and timing files."""
    loaded = run.section("deconstruct", DeconstructConfig)
    return run_study("deconstruct", run, loaded, DATASETS, lambda data, device, checkpoint, net: DeconstructLottery(
        loaded.config, data, device, checkpoint, net=net),
        lambda r: f"{len(r['levels'][0]['variants'])} variants at {len(r['levels'])} levels")
