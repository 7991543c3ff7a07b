"""What the studies run on LeNet and on the conv nets (``deconstruct``, ``importance``) share: the nets' titles,
the colours of their variants, each net's figure names and claim records, why a conv net's run is reduced
scale, and the comparison of two variants over every level and trial."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from lth.report.figures import Scale, run_scale
from lth.report.ledger.rules import reduced_scale
from lth.report.ledger.statistics import Spread, Tolerance, difference, pooled_difference
from lth.report.rates import conv_rates_note

COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray",
          "tab:olive", "tab:cyan"]
NET_TITLES = {"lenet": "LeNet-300-100 (MNIST)", "conv2": "Conv-2 (CIFAR-10)", "conv4": "Conv-4 (CIFAR-10)",
              "conv6": "Conv-6 (CIFAR-10)"}
CONV_NETS = ("conv2", "conv4", "conv6")


def _accuracies(rounds: list[dict[str, Any]], role: str) -> list[list[float]]:
    """Role ``role``'s test accuracies at early stop (pp), one group of trials per level."""
    return [list(100 * np.asarray(r[role]["early_stop_accuracy"], dtype=float)) for r in rounds]


def variants_spread(rounds: list[dict[str, Any]], roles: list[str]) -> Spread:
    """The trial spread of a study's variants ``roles`` pooled over all of them within each level: every variant
    trains the same net with the same optimizer and data and differs only in its mask or weights, so they share
    one trial-to-trial spread. Each variant's own spread rests on a few trials per level and moved several-fold
    between two draws of the study, flipping verdicts; the pooled one barely moved (docs/claims-ledger.md,
    session 32)."""
    groups = [g for role in roles for g in _accuracies(rounds, role)]
    return Spread.of(groups, f"{len(roles)} variants' trials pooled within {len(rounds)} levels")


def compare(rounds: list[dict[str, Any]], a: str, b: str,
            spread: Spread | None = None) -> tuple[float | None, Tolerance | None]:
    """Mean accuracy (pp) of role ``a`` minus role ``b`` over every level and trial, and its tolerance: from
    ``spread`` (the study's variants pooled, ``variants_spread``) when given, else from each role's own trial
    spread pooled within levels (Welch); a t quantile either way."""
    if not all(a in r and b in r for r in rounds):
        return None, None
    values = {role: _accuracies(rounds, role) for role in (a, b)}
    n = {role: sum(len(g) for g in groups) for role, groups in values.items()}
    gap = float(np.mean([v for g in values[a] for v in g]) - np.mean([v for g in values[b] for v in g]))
    if spread is not None:
        return gap, pooled_difference(spread, n[a], n[b])
    spreads = {role: Spread.of(groups, f"{role.split('/')[-1]} trials pooled within {len(groups)} levels")
               for role, groups in values.items()}
    return gap, difference(spreads[a], n[a], spreads[b], n[b])


def claims_for(records: list[Any], net: str) -> dict[str, Any]:
    """A study's claim records keyed as the verdicts look them up; for a conv net each is its own record (key
    and quote naming the net)."""
    if net == "lenet":
        return {c.key: c for c in records}
    return {f"{c.key}_{net}": dataclasses.replace(c, key=f"{c.key}_{net}", quote=f"{NET_TITLES[net]}: {c.quote}")
            for c in records}


def conv_reduced(config: dict[str, Any]) -> str | None:
    """Why a conv net's run cannot test the statements (reduced width or images), as for the CIFAR stages."""
    return reduced_scale({"width": config["conv_width"], "train_examples": config["conv_train_examples"]})


def study_scale(result: dict[str, Any], net: str, levels: int) -> Scale:
    """The scale of one net's run of a study drawing ``levels`` Pm levels (a conv net at the conv width,
    training images and length of its config), for its figures' titles and captions."""
    c = result["config"]
    if net != "lenet":
        iterations = c["conv_iterations"][CONV_NETS.index(net)] if "conv_iterations" in c else c["iterations"]
        c = {**c, "width": c["conv_width"], "train_examples": c["conv_train_examples"], "iterations": iterations}
    return run_scale([{"profile": result["profile"], "config": c}], [levels])


def figure_name(study: str, net: str, kind: str) -> str:
    """A study's figure file for one net (LeNet's keep the study's plain names)."""
    return f"{study}_{kind}.png" if net == "lenet" else f"{study}_{net}_{kind}.png"


def not_run_note(results: Path, study: str, nets: list[str]) -> str:
    """Which conv nets a study did not run at this profile and why (their measured training rates against
    LeNet's, read from the timing files), or '' when it ran them all."""
    missing = [NET_TITLES[n] for n in CONV_NETS if not (results / study / f"{n}.json").exists()]
    if not missing:
        return ""
    rates = conv_rates_note(results, results / study / "lenet_timing.json")
    why = f"; {rates}, too slow for a study stage's budget at the CIFAR stages' reduced scale" if rates else ""
    return (f"Not run at this profile: {', '.join(missing)} (`{study}.nets` = [{', '.join(nets)}]{why}; profile "
            "`paper` runs them). ")
