"""How far each run is from the paper's scale: the config its results file records against the paper's
settings (its ``params.yaml`` section as written, which ``profile: paper`` runs), on the settings that make
a run's scale: the net, the data, the trials and controls, the pruning levels and the training length.

A page lists its runs (``RunConfig``); the report's first screen (the scale column) and its "Not reproduced
yet" list (what each reduced experiment changes) both read ``experiment_scale`` of those runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

# key -> (aspect, how the report names it); the keys a run's scale is judged on, in the report's order
SCALE_KEYS: dict[str, tuple[str, str]] = {
    "arch": ("net", "net"), "hidden_units": ("net", "hidden units"), "hidden_sizes": ("net", "hidden sizes"),
    "width": ("net", "width"), "conv_width": ("net", "conv nets' width"), "conv2_width": ("net", "Conv-2 width"),
    "first_widths": ("net", "first-layer widths"), "nets": ("net", "nets"),
    "train_examples": ("data", "training images"), "conv_train_examples": ("data", "conv nets' training images"),
    "conv2_train_examples": ("data", "Conv-2 training images"),
    "trials": ("trials", "trials"),
    "reinit_per_ticket": ("controls", "reinits per ticket"), "rewire_per_ticket": ("controls", "rewirings per ticket"),
    "random_mask_per_ticket": ("controls", "random masks per ticket"),
    "extra_controls_every": ("controls", "rewiring and random masks every n rounds"),
    "reinit_every": ("controls", "reinit every n rounds"), "han_baseline": ("controls", "Han et al.'s baseline"),
    "one_shot_controls": ("controls", "one-shot controls"),
    "rounds": ("levels", "IMP rounds"), "levels": ("levels", "levels (rounds)"),
    "min_remaining": ("levels", "sparsest Pm"), "one_shot_rounds": ("levels", "one-shot levels (rounds)"),
    "supermask_levels": ("levels", "supermask levels (rounds)"), "hidden_rate": ("levels", "hidden rate per round"),
    "global_rate": ("levels", "rate per round"), "conv_rate": ("levels", "conv rate per round"),
    "fc_rate": ("levels", "fc rate per round"), "output_rate": ("levels", "output rate per round"),
    "ratios": ("levels", "channel ratios"), "retrain_ratios": ("levels", "retrained ratios"),
    "rewind_iterations": ("levels", "rewinding iterations"),
    "init_stds": ("settings", "init scales"), "hidden_rates": ("settings", "pruning rates"),
    "iterations": ("iterations", "iterations"), "epochs": ("iterations", "epochs"),
    "retrain_epochs": ("iterations", "retraining epochs"), "conv_iterations": ("iterations", "conv nets' iterations"),
    "lenet_iterations": ("iterations", "LeNet iterations"), "conv2_iterations": ("iterations", "Conv-2 iterations"),
    "learned_iterations": ("iterations", "supermask iterations"), "patience": ("iterations", "early stop (patience)"),
}
PERCENT_KEYS = {"min_remaining", "hidden_rate", "global_rate", "conv_rate", "fc_rate", "output_rate", "ratios",
                "retrain_ratios", "hidden_rates"}
ZERO_MEANS = {"train_examples": "all", "conv_train_examples": "all", "conv2_train_examples": "all",
              "patience": "none"}
# a key a section leaves out is at the schema's default, which for these is the full net and data set
FULL_SCALE_DEFAULTS = {"width": 1.0, "train_examples": 0}
# a run is an illustration (it shows the procedure, it cannot test the paper's numbers) when it trains for
# less than this share of the paper's training length
TRAINING_LENGTH_KEYS = ("iterations", "epochs", "lenet_iterations", "conv2_iterations")
ILLUSTRATION_BELOW = 0.05


@dataclass(frozen=True)
class RunConfig:
    """One run as its results file records it: a label, the params.yaml section (and variant) it ran from,
    and its resolved config."""
    label: str
    section: str
    config: dict[str, Any]
    variant: str | None = None


@dataclass(frozen=True)
class Difference:
    """One scale setting where a run differs from the paper's."""
    key: str
    ours: Any
    paper: Any


@dataclass(frozen=True)
class Scale:
    """An experiment's scale: ``paper``, ``reduced`` or ``illustration`` (or ``unknown`` without runs or
    paper settings), the aspects that differ, one phrase per differing setting, and the illustration runs."""
    kind: str
    aspects: tuple[str, ...] = ()
    details: tuple[str, ...] = ()
    illustrations: tuple[str, ...] = ()
    runs: int = 0


def paper_config(params: dict[str, Any], run: RunConfig) -> dict[str, Any] | None:
    """The paper's settings for ``run``: its params section as written (no profile overrides), with its
    variant's overrides; None when params has no such section."""
    raw = params.get(run.section)
    if not isinstance(raw, dict):
        return None
    paper = {key: value for key, value in raw.items() if key not in ("profiles", "variants")}
    return {**paper, **(((raw.get("variants") or {}).get(run.variant) or {}) if run.variant else {})}


def differences(run: RunConfig, paper: dict[str, Any]) -> list[Difference]:
    """The scale settings on which ``run`` differs from ``paper`` (keys neither sets are skipped)."""
    out = []
    for key in SCALE_KEYS:
        reference = paper.get(key, FULL_SCALE_DEFAULTS.get(key))
        if key in run.config and reference is not None and run.config[key] != reference:
            out.append(Difference(key, run.config[key], reference))
    return out


def is_illustration(found: Sequence[Difference]) -> bool:
    """Whether a run trains for less than ``ILLUSTRATION_BELOW`` of the paper's training length."""
    return any(d.key in TRAINING_LENGTH_KEYS and isinstance(d.ours, (int, float)) and d.paper
               and d.ours < ILLUSTRATION_BELOW * d.paper for d in found)


def experiment_scale(runs: Sequence[RunConfig], params: dict[str, Any]) -> Scale:
    """The scale of an experiment's runs against the paper's settings in ``params`` (parsed params.yaml)."""
    papers = [paper_config(params, run) for run in runs]
    if not runs or any(p is None for p in papers):
        return Scale("unknown", runs=len(runs))
    found = [differences(run, paper) for run, paper in zip(runs, papers)]
    if not any(found):
        return Scale("paper", runs=len(runs))
    keys = [key for key in SCALE_KEYS if any(d.key == key for diffs in found for d in diffs)]
    aspects = tuple(dict.fromkeys(SCALE_KEYS[key][0] for key in keys))
    illustrations = tuple(run.label for run, diffs in zip(runs, found) if is_illustration(diffs))
    kind = "illustration" if len(illustrations) == len(runs) else "reduced"
    details = tuple(_detail(key, [d for diffs in found for d in diffs if d.key == key], len(runs)) for key in keys)
    return Scale(kind, aspects, details, illustrations if kind == "reduced" else (), len(runs))


def _detail(key: str, found: list[Difference], runs: int) -> str:
    """'iterations 100–3,000 (paper 20,000–112,000; 6 of 12 runs)'."""
    share = f"; {len(found)} of {runs} runs" if len(found) < runs else ""
    return (f"{SCALE_KEYS[key][1]} {_values(key, [d.ours for d in found])} "
            f"(paper {_values(key, [d.paper for d in found])}{share})")


def _values(key: str, values: list[Any]) -> str:
    """Distinct values as one phrase: a range for numbers, else each once."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) and len(set(values)) > 1:
        return f"{_value(key, min(values))}–{_value(key, max(values))}"
    return " / ".join(dict.fromkeys(_value(key, v) for v in values))


def _value(key: str, value: Any) -> str:
    """One setting's value as the report writes it (percent rates, 'all' images, thousands separators)."""
    if isinstance(value, list):
        if len(value) > 4:
            return f"{len(value)} from {_value(key, value[0])} to {_value(key, value[-1])}"
        return ", ".join(_value(key, v) for v in value)
    if isinstance(value, bool):
        return "on" if value else "off"
    if value == 0 and key in ZERO_MEANS:
        return ZERO_MEANS[key]
    if key in PERCENT_KEYS and isinstance(value, (int, float)):
        return f"{100 * value:.3g}%"
    return f"{value:,}" if isinstance(value, int) else f"{value:g}" if isinstance(value, float) else str(value)


def scale_cell(scale: Scale) -> str:
    """The first screen's scale column: 'paper', 'reduced: trials, iterations' or 'illustration: ...'."""
    if scale.kind in ("paper", "unknown"):
        return "paper" if scale.kind == "paper" else "–"
    part = (f"; {len(scale.illustrations)} of {scale.runs} runs illustration" if scale.illustrations else "")
    return f"{scale.kind}: {', '.join(scale.aspects)}{part}"


def scale_note(scale: Scale) -> str:
    """What a reduced or illustration-scale experiment changes against the paper ('' at the paper's scale)."""
    if scale.kind in ("paper", "unknown"):
        return ""
    runs = f"; illustration scale: {', '.join(scale.illustrations)}" if scale.illustrations else ""
    return f"{'; '.join(scale.details)}{runs}"
