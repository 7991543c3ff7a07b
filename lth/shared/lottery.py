"""The generic lottery: IMP with rewinding, one-shot pruning, the controls (random reinit, random rewiring,
random sparse mask) and Han et al.'s prune-and-continue baseline, for any population model.

One training population per pruning round holds the tickets and all their controls. State is saved after
every round (weights and masks needed for the next round plus results so far), so a killed run resumes
from the last finished round and produces results identical to an uninterrupted run. A checkpoint is
resumed only by the run that wrote it: same resolved config, same dataset file, same code (its
fingerprint); any other is set aside with a message and the run starts over.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from lth.core.engine import TrainJob, TrainResult, TrainSettings, evaluate, members_slice
from lth.core.masks import Masks, dense_masks, prune_by_rate, prune_global, prune_lowest, remaining_fraction
from lth.core.split import train_in_processes, worker_count
from lth.data import DeviceData, Split
from lth.io import read_checkpoint, save_torch_atomic
from lth.provenance import code_sha256
from lth.shared.members import derive_seed, repeat_each, tile

# Bump when the checkpoint's layout changes (the code hash changes anyway with any edit of the code).
CHECKPOINT_SCHEMA = 2


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


class Lottery:
    """IMP with rewinding for one population model, with the controls ``spec`` asks for.

    ``spec`` supplies seed, init, init_std, trials, reinit_per_ticket and curve_rounds, and optionally
    rewire_per_ticket, random_mask_per_ticket (at every ``extra_controls_every``-th round, default every
    round), reinit_every (the reinit controls' rounds likewise), han_baseline and one_shot_rounds (absent = not
    run). ``curve_test`` is the split the recorded
    test-accuracy curves are computed on (default the whole test set; accuracies at early stop and at the end
    always use the whole test set).
    ``names`` are the prunable weights; ``rates`` their per-round pruning rates (layerwise) or, with
    ``global_rate``, one rate over all of them pooled. ``chunk`` trains populations that many members at a
    time (None = all at once). ``split_over_processes`` splits each population over one single-threaded
    process per CPU core (see ``lth.parallel``; for nets whose steps do not keep two threads busy).
    """

    def __init__(self, spec: Any, model: Any, names: list[str], rates: dict[str, float], rounds: int,
                 settings: TrainSettings, data: DeviceData, device: torch.device, checkpoint: Path,
                 progress: bool = True, label: str = "lottery", global_rate: float | None = None,
                 chunk: int | None = None, snapshot_every_s: float = 600.0, split_over_processes: bool = False,
                 curve_test: Split | None = None):
        self.config, self.model, self.names, self.rates = spec, model, names, rates
        self.rounds, self.settings, self.data, self.device = rounds, settings, data, device
        self.checkpoint, self.progress, self.label = checkpoint, progress, label
        self.global_rate, self.chunk, self.snapshot_every_s = global_rate, chunk, snapshot_every_s
        self.split_over_processes = split_over_processes
        self.curve_test = curve_test if curve_test is not None else data.test
        self.state: dict[str, Any] = {}
        self.trials = spec.trials
        self.ticket_seeds = [derive_seed(spec.seed, "init", t) for t in range(self.trials)]
        self.init = model.init_params(self.ticket_seeds, spec.init, spec.init_std, device=device)
        self.fingerprint = hashlib.sha256(json.dumps(
            {"config": dataclasses.asdict(spec), "data": [len(data.train), len(data.validation), len(data.test)],
             "data_sha256": data.source_sha256, "code": code_sha256(), "schema": CHECKPOINT_SCHEMA},
            sort_keys=True).encode()).hexdigest()

    def prune(self, scores: dict[str, torch.Tensor], masks: Masks) -> Masks:
        """One round of magnitude pruning: layerwise at ``rates`` or global at ``global_rate``."""
        if self.global_rate is not None:
            return prune_global(scores, masks, self.names, self.global_rate)
        return prune_by_rate(scores, masks, self.rates)


    # ------------------------------------------------------------------------------------ populations
    def _fresh_init(self, count_per_ticket: int, round_index: int) -> dict[str, torch.Tensor]:
        seeds = [derive_seed(self.config.seed, "reinit", round_index, t, j)
                 for t in range(self.trials) for j in range(count_per_ticket)]
        return self.model.init_params(seeds, self.config.init, self.config.init_std, device=self.device)

    def _train(self, params: dict[str, torch.Tensor], masks: Masks, roles: list[str], round_index: int,
               label: str, curves_for: torch.Tensor | None,
               seeds: list[int] | None = None, model: Any = None,
               settings: TrainSettings | None = None) -> tuple[TrainResult, dict[str, Any]]:
        """Train one population (members in ``roles`` order) and summarise each role's members. Member k's
        batch order comes from ``seeds[k]``, by default derived from its position in the population.
        ``model`` and ``settings`` replace the lottery's for this population (e.g. a model with frozen weights)."""
        model = self.model if model is None else model
        settings = self.settings if settings is None else settings
        if seeds is None:
            seeds = [derive_seed(self.config.seed, "data", label, round_index, k) for k in range(len(roles))]
        evaluations = {"validation": self.data.validation}
        eval_members = {}
        if curves_for is not None:
            evaluations["test"] = self.curve_test
            eval_members["test"] = curves_for
        key = [label, round_index]
        partial = self.state.get("partial")

        def save_partial(progress: dict[str, Any]) -> None:
            # Within a long round: the round-level state plus the engine's state of this training.
            self.state["partial"] = {"key": key, "run": progress}
            self._save(self.state)

        processes = worker_count(self.device, len(roles)) if self.split_over_processes else 1
        job = TrainJob(model, params, masks, settings, self.data.train, seeds, evaluations,
                       eval_members, track_best="validation",
                       progress=f"{label} round {round_index}" if self.progress else None)
        result = train_in_processes(job, self.chunk or len(roles), processes,
                                    resume=partial["run"] if partial is not None and partial["key"] == key else None,
                                    on_snapshot=save_partial, snapshot_every_s=self.snapshot_every_s)
        self.state["partial"] = None
        _, test_at_stop = evaluate(model, result.best_params, self.data.test)
        _, final_test = evaluate(model, result.params, self.data.test)
        pm = remaining_fraction(masks, self.names) if masks else torch.ones(len(roles), dtype=torch.float64)
        summary: dict[str, Any] = {}
        for role in dict.fromkeys(roles):
            index = [k for k, r in enumerate(roles) if r == role]
            summary[role] = {
                "pm": [round(float(pm[k]), 6) for k in index],
                "early_stop_iteration": [int(result.best_iteration[k]) for k in index],
                "early_stop_accuracy": [round(float(test_at_stop[k]), 6) for k in index],
                "final_accuracy": [round(float(final_test[k]), 6) for k in index],
                "stopped_iteration": [int(result.stopped_iteration[k]) for k in index],
                "diverged": [bool(result.diverged[k]) for k in index]}
        if curves_for is not None:
            # a member that stopped early (patience) has no values after its stop: null in the JSON
            summary["curves"] = {"iterations": result.eval_iterations,
                                 "test_accuracy": [[None if v != v else round(float(v), 5) for v in row]
                                                   for row in result.curves["test"]["accuracy"].tolist()]}
        return result, summary

    def _imp_round(self, r: int, state: dict[str, Any]) -> dict[str, Any]:
        """Round r: prune the previous tickets, rewind, and train tickets with every control at once."""
        config, T = self.config, self.trials
        curves = r in config.curve_rounds
        if r == 0:
            masks = dense_masks(self.init, self.names)
            result, summary = self._train(self.init, masks, ["ticket"] * T, 0, "imp",
                                          torch.arange(T, device=self.device) if curves else None)
            state["ticket_masks"], state["ticket_trained"] = masks, result.params
            if getattr(config, "han_baseline", False):
                state["han_masks"], state["han_trained"] = masks, result.params
            return summary
        ticket_masks = self.prune({n: state["ticket_trained"][n].abs() for n in self.names}, state["ticket_masks"])
        parts, mask_parts, roles = [self.init], [ticket_masks], ["ticket"] * T
        if getattr(config, "reinit_per_ticket", 0) and (r - 1) % getattr(config, "reinit_every", 1) == 0:
            R = config.reinit_per_ticket
            parts.append(self._fresh_init(R, r))
            mask_parts.append(repeat_each(ticket_masks, R))
            roles += ["reinit"] * (T * R)
        extra = (r - 1) % getattr(config, "extra_controls_every", 1) == 0
        if extra and getattr(config, "rewire_per_ticket", 0):
            W = config.rewire_per_ticket
            seeds = [derive_seed(config.seed, "rewire", r, t, j) for t in range(T) for j in range(W)]
            params, masks = rewire(repeat_each(self.init, W), repeat_each(ticket_masks, W), seeds)
            parts.append(params), mask_parts.append(masks)
            roles += ["rewire"] * (T * W)
        if extra and getattr(config, "random_mask_per_ticket", 0):
            M = config.random_mask_per_ticket
            seeds = [derive_seed(config.seed, "random_mask", r, t, j) for t in range(T) for j in range(M)]
            parts.append(repeat_each(self.init, M))
            mask_parts.append(random_masks_like(repeat_each(ticket_masks, M), seeds))
            roles += ["random_mask"] * (T * M)
        if getattr(config, "han_baseline", False):
            han_masks = self.prune({n: state["han_trained"][n].abs() for n in self.names}, state["han_masks"])
            parts.append(state["han_trained"]), mask_parts.append(han_masks)
            roles += ["han"] * T
        result, summary = self._train(concat_members(parts), concat_members(mask_parts), roles, r, "imp",
                                      torch.arange(T, device=self.device) if curves else None)
        state["ticket_masks"], state["ticket_trained"] = ticket_masks, members_slice(result.params, 0, T)
        if getattr(config, "han_baseline", False):
            state["han_masks"] = han_masks
            state["han_trained"] = members_slice(result.params, len(roles) - T, len(roles))
        return summary

    def _one_shot(self, state: dict[str, Any]) -> list[dict[str, Any]]:
        """Prune the dense-trained tickets straight to every one-shot level, rewind and train (one population)."""
        levels = self.config.one_shot_rounds
        T = self.trials
        masks = concat_members([one_shot_masks(state["dense_trained"], self.names, self.rates, r) for r in levels])
        params = tile(self.init, len(levels))
        _, summary = self._train(params, masks, ["ticket"] * (T * len(levels)), 0, "one-shot", None)
        out = []
        for i, r in enumerate(levels):
            part = slice(i * T, (i + 1) * T)
            out.append({"round": r, **{key: values[part] for key, values in summary["ticket"].items()}})
        return out

    # --------------------------------------------------------------------------------------- driver
    def _save(self, state: dict[str, Any]) -> None:
        """Write the checkpoint; if that fails (disk full, ...), say so and train on: only resumability is lost."""
        try:
            save_torch_atomic(self.checkpoint, state)
        except OSError as error:
            print(f"{self.label}: could not save progress to {self.checkpoint} ({error}); training continues, "
                  "but a killed run would start over", file=sys.stderr)

    def _load(self) -> dict[str, Any] | None:
        """The checkpoint's state if this very run wrote it (on any device; mapped to this one), else None
        (saying so). A damaged checkpoint stops the stage with one line (``read_checkpoint``) rather than
        silently throwing its progress away."""
        if not self.checkpoint.exists():
            return None
        saved = read_checkpoint(self.checkpoint, self.label, self.device)
        if saved.get("fingerprint") != self.fingerprint:
            print(f"{self.label}: {self.checkpoint} was written by another config, dataset or code version; "
                  "starting over", file=sys.stderr)
            return None
        return saved

    def run(self) -> dict[str, Any]:
        """Every IMP round (resuming from the checkpoint if one matches this config), then one-shot."""
        state = self._load() or {"fingerprint": self.fingerprint, "rounds": [], "one_shot": None}
        self.state = state
        bar = tqdm(total=self.rounds + 2, desc=f"{self.label} rounds", disable=not self.progress,
                   initial=len(state["rounds"]) + (state["one_shot"] is not None))
        for r in range(len(state["rounds"]), self.rounds + 1):
            summary = self._imp_round(r, state)
            state["rounds"].append({"round": r, **summary})
            if r == 0:
                state["dense_trained"] = state["ticket_trained"]
            self._save(state)
            bar.update(1)
        if state["one_shot"] is None:
            state["one_shot"] = self._one_shot(state) if getattr(self.config, "one_shot_rounds", None) else []
            self._save(state)
            bar.update(1)
        bar.close()
        return {"rounds": state["rounds"], "one_shot": state["one_shot"],
                "layer_rates": self.rates, "weights": {n: int(self.init[n][0].numel()) for n in self.names}}
