"""The generic lottery: IMP with rewinding, one-shot pruning, the controls (random reinit, random rewiring,
random sparse mask) and Han et al.'s prune-and-continue baseline, for any population model.

Each pruning round trains the tickets (and Han's baseline) as one population (``PopulationTrainer``); the
round's controls train with them, or, where a member's bits do not depend on its population, later with every
round's controls and the one-shot levels in one population (each member keeping its own seed). Each round is a
step of the study driver (``StudyDriver``): state is saved after every round (weights and masks needed for the
next round plus results so far), so a killed run resumes from the last finished round and produces results
identical to an uninterrupted run; a checkpoint of another config, dataset or code is set aside with a message.
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lth.core.engine import TrainSettings, members_slice
from lth.core.processes import draws_per_population
from lth.core.masks import Masks, dense_masks, prune_by_rate, prune_global, prune_lowest
from lth.data import DeviceData, Split
from lth.shared.driver import StudyDriver, study_fingerprint
from lth.shared.members import derive_seed, repeat_each, tile
from lth.shared.population import PopulationTrainer, fresh_init, ticket_init


# Role prefix of the one-shot members when they train in the controls population.
ONE_SHOT = "one-shot/"


def rounds_needed(sizes: dict[str, int], rates: dict[str, float], min_remaining: float) -> int:
    """Number of IMP rounds until the overall fraction of weights remaining is <= ``min_remaining``."""
    total = sum(sizes.values())
    alive = dict(sizes)
    for r in range(1, 200):
        alive = {n: a - round(a * rates[n]) for n, a in alive.items()}
        if sum(alive.values()) / total <= min_remaining:
            return r
    raise ValueError(f"pruning never reaches Pm <= {min_remaining} with rates {rates}")


def last_level(sizes: dict[str, int], rates: dict[str, float], limit: int = 1000) -> int:
    """The last one-shot level (IMP rounds' worth, as ``one_shot_masks`` counts them) that still prunes
    some weight and leaves every layer a weight: a later level repeats its masks or empties a layer, so a
    config asking for one is a mistake (the range check of the studies' ``levels``)."""
    alive = dict(sizes)
    for level in range(1, limit + 1):
        after = {n: a - round(a * rates[n]) for n, a in alive.items()}
        if after == alive or min(after.values()) < 1:
            return level - 1
        alive = after
    return limit


def one_shot_masks(trained: dict[str, torch.Tensor], names: list[str], rates: dict[str, float],
                   rounds: int) -> Masks:
    """Masks that keep, in one step, what ``rounds`` rounds of IMP would keep of each layer, by |trained|."""
    masks = {}
    for name in names:
        weights = trained[name].flatten(1)
        alive = weights.shape[1]
        for _ in range(rounds):
            alive -= round(alive * rates[name])
        count = torch.full((weights.shape[0],), weights.shape[1] - alive, device=weights.device)
        everything = torch.ones_like(weights, dtype=torch.bool)
        masks[name] = prune_lowest(weights.abs(), everything, count).view_as(trained[name])
    return masks


def rewire(init: dict[str, torch.Tensor], masks: Masks, seeds: list[int]) -> tuple[dict[str, torch.Tensor], Masks]:
    """Random rewiring: within each layer, move every surviving connection (with its initial value) to a
    random position (one permutation of the layer's positions per member)."""
    params, new_masks = {n: p.clone() for n, p in init.items()}, {}
    for name, mask in masks.items():
        flat_mask, flat_init = mask.flatten(1), init[name].flatten(1)
        permuted_mask, permuted_init = torch.empty_like(flat_mask), torch.empty_like(flat_init)
        for k, seed in enumerate(seeds):
            order = torch.randperm(flat_mask.shape[1], generator=torch.Generator().manual_seed(
                derive_seed(seed, name))).to(flat_mask.device)
            permuted_mask[k], permuted_init[k] = flat_mask[k, order], flat_init[k, order]
        new_masks[name] = permuted_mask.view_as(mask)
        params[name] = (permuted_init * permuted_mask).view_as(init[name])
    return params, new_masks


def random_masks_like(masks: Masks, seeds: list[int]) -> Masks:
    """Random sparse masks with exactly the same number of survivors per layer as ``masks``."""
    new = {}
    for name, mask in masks.items():
        flat = mask.flatten(1)
        out = torch.zeros_like(flat)
        for k, seed in enumerate(seeds):
            order = torch.randperm(flat.shape[1], generator=torch.Generator().manual_seed(derive_seed(seed, name)))
            out[k, order[:int(flat[k].sum())].to(flat.device)] = True
        new[name] = out.view_as(mask)
    return new


def concat_members(parts: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """One population from several (tickets, then each control): every tensor concatenated along members."""
    return {name: torch.cat([p[name] for p in parts]) for name in parts[0]}


@dataclass(frozen=True)
class Controls:
    """What IMP trains beside the tickets: per ticket ``reinit_per_ticket`` random reinitialisations (at rounds
    1, 1 + ``reinit_every``, ...), ``rewire_per_ticket`` random rewirings and ``random_mask_per_ticket``
    random sparse masks (at every ``extra_controls_every``-th round), Han et al.'s prune-and-continue
    baseline (``han_baseline``); and the one-shot levels (``one_shot_rounds``, empty = none)."""
    reinit_per_ticket: int = 0
    reinit_every: int = 1
    rewire_per_ticket: int = 0
    random_mask_per_ticket: int = 0
    extra_controls_every: int = 1
    han_baseline: bool = False
    one_shot_rounds: tuple[int, ...] = ()

    @classmethod
    def of(cls, spec: Any) -> "Controls":
        """The controls a config asks for; a config without one of the fields (e.g. CIFAR's) does not run it."""
        return cls(**{f.name: getattr(spec, f.name) for f in dataclasses.fields(cls) if hasattr(spec, f.name)
                      and getattr(spec, f.name) is not None})


class Lottery:
    """IMP with rewinding for one population model, with the controls ``spec`` asks for (``Controls``), then
    one-shot pruning; a resumable study (``StudyDriver``: one step per IMP round, then the deferred controls
    with the one-shot levels, or the one-shot levels alone where the controls trained in their rounds).

    ``spec`` supplies seed, init, init_std, trials and curve_rounds, and the controls' fields it has.
    ``curve_test`` is the split the recorded test-accuracy curves are computed on (default the whole test
    set; accuracies at early stop and at the end always use the whole test set).
    ``names`` are the prunable weights; ``rates`` their per-round pruning rates (layerwise) or, with
    ``global_rate``, one rate over all of them pooled. ``chunk`` trains populations that many members at a
    time (None = all at once). ``split_over_processes`` splits each population over one single-threaded
    process per CPU core (see ``lth.core.processes``; for nets whose steps do not keep two threads busy).
    """

    def __init__(self, spec: Any, model: Any, names: list[str], rates: dict[str, float], rounds: int,
                 settings: TrainSettings, data: DeviceData, device: torch.device, checkpoint: Path,
                 progress: bool = True, label: str = "lottery", global_rate: float | None = None,
                 chunk: int | None = None, snapshot_every_s: float = 600.0, split_over_processes: bool = False,
                 curve_test: Split | None = None):
        self.config, self.model, self.names, self.rates = spec, model, names, rates
        self.rounds, self.settings, self.data, self.device = rounds, settings, data, device
        self.global_rate, self.controls, self.trials = global_rate, Controls.of(spec), spec.trials
        self.ticket_seeds, self.init = ticket_init(model, spec, device)
        self.driver = StudyDriver(checkpoint, study_fingerprint(spec, data), label, device, progress)
        self.trainer = PopulationTrainer(model, settings, data, names, self.driver, spec.seed, device, chunk,
                                         split_over_processes, curve_test, snapshot_every_s)

    @property
    def fingerprint(self) -> str:
        """The checkpoint's fingerprint (``study_fingerprint``)."""
        return self.driver.fingerprint

    @property
    def label(self) -> str:
        """The lottery's name in messages and progress bars."""
        return self.driver.label

    @label.setter
    def label(self, value: str) -> None:
        self.driver.label = value

    @property
    def state(self) -> dict[str, Any]:
        """The run's state (what the checkpoint holds)."""
        return self.driver.state

    def prune(self, scores: dict[str, torch.Tensor], masks: Masks) -> Masks:
        """One round of magnitude pruning: layerwise at ``rates`` or global at ``global_rate``."""
        if self.global_rate is not None:
            return prune_global(scores, masks, self.names, self.global_rate)
        return prune_by_rate(scores, masks, self.rates)

    def _fresh_init(self, count_per_ticket: int, round_index: Any) -> dict[str, torch.Tensor]:
        return fresh_init(self.model, self.config, count_per_ticket, round_index, self.device)

    def _layout(self, r: int) -> list[str]:
        """Round ``r``'s members in the order that defines their batch seeds (``derive_seed(seed, "data", "imp",
        r, position)``): tickets, random reinits, rewirings, random masks, Han's baseline. The tickets and Han's
        baseline train in the round's own step, the controls later with every round's controls; each member
        keeps its seed, so its result is the one it would have in the round's full population."""
        c, T = self.controls, self.trials
        roles = ["ticket"] * T
        if r > 0 and c.reinit_per_ticket and (r - 1) % c.reinit_every == 0:
            roles += ["reinit"] * (T * c.reinit_per_ticket)
        extra = r > 0 and (r - 1) % c.extra_controls_every == 0
        roles += ["rewire"] * (T * c.rewire_per_ticket) if extra else []
        roles += ["random_mask"] * (T * c.random_mask_per_ticket) if extra else []
        return roles + (["han"] * T if c.han_baseline and r > 0 else [])

    def _control_members(self, r: int, ticket_masks: Masks) -> tuple[dict[str, torch.Tensor], Masks]:
        """Round ``r``'s controls (weights and masks) in ``_layout`` order: reinits of the ticket's mask,
        rewirings of its weights, random masks of its size."""
        config, layout = self.config, self._layout(r)
        parts, mask_parts = [], []
        R, W, M = (layout.count(role) // self.trials for role in ("reinit", "rewire", "random_mask"))
        if R:
            parts.append(self._fresh_init(R, r)), mask_parts.append(repeat_each(ticket_masks, R))
        if W:
            seeds = [derive_seed(config.seed, "rewire", r, t, j) for t in range(self.trials) for j in range(W)]
            params, masks = rewire(repeat_each(self.init, W), repeat_each(ticket_masks, W), seeds)
            parts.append(params), mask_parts.append(masks)
        if M:
            seeds = [derive_seed(config.seed, "random_mask", r, t, j) for t in range(self.trials) for j in range(M)]
            parts.append(repeat_each(self.init, M))
            mask_parts.append(random_masks_like(repeat_each(ticket_masks, M), seeds))
        return (concat_members(parts), concat_members(mask_parts)) if parts else ({}, {})

    def _defers_controls(self) -> bool:
        """Whether the controls train after the ticket chain, all rounds' in one population: whenever a
        member's training is independent of the population it trains in (its own batch order; no
        population-wide draws for dropout or augmentation, which are seeded by the population's first member).
        The chain's rounds then hold only tickets (and Han's baseline), and the controls' one population
        shares the workers out without a barrier per round. Where members train one at a time (the conv nets
        on a CPU) a round of 3 tickets keeps both cores busy as 3 workers (``processes.workers_for``); the
        controls once filled them instead (docs/measurements.md, sessions 19 and 24). Each member gets the
        same bits either way."""
        return not draws_per_population(self.settings, self.model)

    def _imp_round(self, r: int, state: dict[str, Any]) -> dict[str, Any]:
        """Round r: prune the previous tickets (and Han's baseline), rewind, train both (the ticket chain), with
        the round's controls unless they train later (``_controls_step``, which keeps the round's mask)."""
        T, layout = self.trials, self._layout(r)
        curves = torch.arange(T, device=self.device) if r in self.config.curve_rounds else None
        masks = (dense_masks(self.init, self.names) if r == 0 else
                 self.prune({n: state["ticket_trained"][n].abs() for n in self.names}, state["ticket_masks"]))
        parts, mask_parts, roles, positions = [self.init], [masks], ["ticket"] * T, list(range(T))
        if r > 0 and not self._defers_controls():
            controls, control_masks = self._control_members(r, masks)
            if controls:
                parts.append(controls), mask_parts.append(control_masks)
            roles = layout[:len(layout) - layout.count("han")]
            positions = list(range(len(roles)))
        if "han" in layout:
            han_masks = self.prune({n: state["han_trained"][n].abs() for n in self.names}, state["han_masks"])
            parts.append(state["han_trained"]), mask_parts.append(han_masks)
            roles += ["han"] * T
            positions += list(range(len(layout) - T, len(layout)))
        result, summary = self.trainer.train(concat_members(parts), concat_members(mask_parts), roles, r, "imp",
                                             curves, self.trainer.member_seeds("imp", r, positions))
        state["ticket_masks"], state["ticket_trained"] = masks, members_slice(result.params, 0, T)
        if self._defers_controls():
            state.setdefault("round_masks", {})[r] = masks
        if self.controls.han_baseline:
            state["han_masks"] = han_masks if "han" in layout else masks
            state["han_trained"] = members_slice(result.params, len(roles) - T, len(roles))
        return summary

    def _controls_step(self, state: dict[str, Any]) -> None:
        """Every round's controls in one population (they need nothing of later rounds), each with its seed
        from its round's layout, and the one-shot levels (``_one_shot_members``) with their own seeds ahead of
        them: one population ends with one tail of a few long trainings instead of two. The controls'
        summaries join their rounds' records; the one-shot records become ``one_shot``."""
        parts, mask_parts, roles, seeds = [], [], [], []
        deferred = self._defers_controls()
        if deferred and self.controls.one_shot_rounds:
            params, masks, one_shot_roles = self._one_shot_members(state)
            parts.append(params), mask_parts.append(masks)
            roles += [ONE_SHOT + role for role in one_shot_roles]
            seeds += self.trainer.member_seeds("one-shot", 0, range(len(one_shot_roles)))
        for r in range(1, self.rounds + 1 if deferred else 1):
            layout = self._layout(r)
            positions = [k for k, role in enumerate(layout) if role not in ("ticket", "han")]
            if not positions:
                continue
            params, masks = self._control_members(r, state["round_masks"][r])
            parts.append(params), mask_parts.append(masks)
            roles += [f"{layout[k]}@{r}" for k in positions]
            seeds += self.trainer.member_seeds("imp", r, positions)
        if roles:
            _, summary = self.trainer.train(concat_members(parts), concat_members(mask_parts), roles, 0, "controls",
                                            None, seeds)
            one_shot = {key[len(ONE_SHOT):]: record for key, record in summary.items() if key.startswith(ONE_SHOT)}
            if one_shot:
                state["one_shot"] = self._one_shot_records(one_shot)
            for key, record in summary.items():
                if not key.startswith(ONE_SHOT):
                    role, r = key.split("@")
                    state["rounds"][int(r)][role] = record
        state["round_masks"] = {}

    def _one_shot_members(self, state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], Masks, list[str]]:
        """The one-shot levels' population (weights, masks, roles in order): the dense-trained tickets pruned
        straight to every level and rewound, ``trials`` members per level."""
        levels = self.controls.one_shot_rounds
        masks = concat_members([one_shot_masks(state["dense_trained"], self.names, self.rates, r) for r in levels])
        return tile(self.init, len(levels)), masks, ["ticket"] * (self.trials * len(levels))

    def _one_shot_records(self, summary: dict[str, Any]) -> list[dict[str, Any]]:
        """Per one-shot level its record (round and the tickets' summary), from the population's summary."""
        T, out = self.trials, []
        for i, r in enumerate(self.controls.one_shot_rounds):
            part = slice(i * T, (i + 1) * T)
            out.append({"round": r, **{key: values[part] for key, values in summary["ticket"].items()}})
        return out

    def _one_shot(self, state: dict[str, Any]) -> list[dict[str, Any]]:
        """The one-shot levels trained as one population of their own (where the controls do not train after
        the chain)."""
        params, masks, roles = self._one_shot_members(state)
        _, summary = self.trainer.train(params, masks, roles, 0, "one-shot", None)
        return self._one_shot_records(summary)

    def _round_step(self, r: int, state: dict[str, Any]) -> None:
        """IMP round ``r`` as a driver step: its record appended to ``rounds`` (round 0's tickets are the dense
        nets the one-shot levels prune)."""
        state["rounds"].append({"round": r, **self._imp_round(r, state)})
        if r == 0:
            state["dense_trained"] = state["ticket_trained"]

    def _one_shot_step(self, state: dict[str, Any]) -> None:
        """The one-shot levels, unless they trained with the controls (``_controls_step``)."""
        if state["one_shot"] is None:
            state["one_shot"] = self._one_shot(state) if self.controls.one_shot_rounds else []

    def run(self) -> dict[str, Any]:
        """Every IMP round (resuming from the checkpoint if one matches this config), then one-shot."""
        self.driver.start(lambda: {"rounds": [], "one_shot": None})
        steps = [(f"round {r}", functools.partial(self._round_step, r)) for r in range(self.rounds + 1)]
        state = self.driver.run(steps + [("controls", self._controls_step), ("one-shot", self._one_shot_step)],
                                unit="steps")
        return {"rounds": state["rounds"], "one_shot": state["one_shot"],
                "layer_rates": self.rates, "weights": {n: int(self.init[n][0].numel()) for n in self.names}}
