"""The first version's MNIST parameter sweeps (arXiv 1803.03635v1 §6): init scale, pruning rate and network size,
their figures, the tickets' sizes, and the section's statements tested on these runs."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from lth.report import sweeps_claims
from lth.report.common import Section, censored, level_pm, markdown_table, plt, read_json, run_facts
from lth.report.figures import PmAxis, PmSeries, pm_figure, run_scale
from lth.report.ledger.markdown import ledger_table
from lth.report.ledger.levels import LevelSpreads
from lth.report.ledger.records import Claim, Verdict
from lth.report.ledger.rules import at_least, exceeds, untestable
from lth.report.ledger.statistics import (Spread, difference, exact, ratio, role_mean, spearman, spearman_critical,
                                          trials)
from lth.report.findings import best_setting
from lth.report.scale import RunConfig

PM_AXIS = PmAxis("percent of weights remaining (Pm)")

def _trial_means(rounds: list[dict[str, Any]], metric: str, log: bool = False) -> list[float]:
    """Each trial's mean of ``metric`` over the pruned levels (the independent units of a sweep comparison)."""
    values = np.array([r["ticket"][metric] for r in rounds[1:]], dtype=float)      # [levels, trials]
    if log:
        values = np.log(np.maximum(values, 1))
    return list(values.mean(axis=0) * (1 if log else 100))


def _censored(*settings: dict[str, Any]) -> str:
    """Why an iteration comparison of sweep settings is a bound ('' when it is not)."""
    return censored(*[r["ticket"] for s in settings for r in s["rounds"][1:]])


def _compare(claim: Claim, a: dict[str, Any], b: dict[str, Any], metric: str, why_not: str) -> Verdict:
    """A - B of the per-trial level means (accuracy in pp), or A / B of iterations (log scale), tested as 'A
    significantly above B' with both sides' spreads (Welch, t quantile)."""
    log = metric == "early_stop_iteration"
    ta, tb = _trial_means(a["rounds"], metric, log), _trial_means(b["rounds"], metric, log)
    spread_a = Spread.of([ta], f"sigma {a['value']:g}: per-trial means")
    spread_b = Spread.of([tb], f"sigma {b['value']:g}: per-trial means")
    diff = float(np.mean(ta) - np.mean(tb))
    if not log:
        return exceeds(claim, diff, difference(spread_a, len(ta), spread_b, len(tb)), why_not)
    value = math.exp(diff)
    reason = _censored(a, b)
    if reason:
        return untestable(claim, reason, value)
    return exceeds(claim, value, ratio(value, spread_a, len(ta), spread_b, len(tb)), why_not)


def init_scale_verdicts(result: dict[str, Any]) -> list[Verdict]:
    """v1's init-scale statements: sigma 0.1 against the largest and the smallest sigma of the sweep."""
    claims = {c.key: c for c in sweeps_claims.CLAIMS}
    by_std = {s["value"]: s for s in result["settings"]}
    if 0.1 not in by_std:
        return [untestable(claims[k], "the sweep has no sigma 0.1") for k in
                ("v1_larger_init_slower", "v1_larger_init_less_accurate", "v1_smaller_init_more_accurate",
                 "v1_smaller_init_slower")]
    base, large, small = by_std[0.1], by_std[max(by_std)], by_std[min(by_std)]
    return [_compare(claims["v1_larger_init_slower"], large, base, "early_stop_iteration",
                     "larger inits are not significantly slower"),
            _compare(claims["v1_larger_init_less_accurate"], base, large, "early_stop_accuracy",
                     "larger inits are not significantly less accurate"),
            _compare(claims["v1_smaller_init_more_accurate"], small, base, "early_stop_accuracy",
                     "smaller inits are not significantly more accurate"),
            _compare(claims["v1_smaller_init_slower"], small, base, "early_stop_iteration",
                     "smaller inits are not significantly slower")]


def matched_levels(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pair of pruned levels, one of each ladder, whose Pm are closest (by ratio): like with like."""
    pairs = [(x, y) for x in a[1:] for y in b[1:]]
    return min(pairs, key=lambda pair: abs(math.log(level_pm(pair[0]) / level_pm(pair[1]))))


def pruning_rate_verdicts(result: dict[str, Any]) -> list[Verdict]:
    """v1's pruning-rate statements: rate 0.2 against the largest rate, at their closest-matching levels."""
    claims = {c.key: c for c in sweeps_claims.CLAIMS}
    by_rate = {s["value"]: s for s in result["settings"]}
    keys = ("v1_aggressive_rate_less_accurate", "v1_aggressive_rate_slower")
    if 0.2 not in by_rate or max(by_rate) <= 0.2:
        return [untestable(claims[k], "the sweep needs rate 0.2 and a larger one") for k in keys]
    slow, fast = by_rate[0.2], by_rate[max(by_rate)]
    a, b = matched_levels(slow["rounds"], fast["rounds"])
    spreads = {rate: LevelSpreads(s["rounds"], s["rounds"][0]["ticket"]) for rate, s in by_rate.items()}
    where = f" (rate 0.2 at Pm {level_pm(a):.1f}%, rate {max(by_rate):g} at {level_pm(b):.1f}%)"
    gap = 100 * (role_mean(a["ticket"], "early_stop_accuracy") - role_mean(b["ticket"], "early_stop_accuracy"))
    tol = difference(spreads[0.2].accuracy["ticket"], trials(a["ticket"]),
                     spreads[max(by_rate)].accuracy["ticket"], trials(b["ticket"]))
    out = [exceeds(claims[keys[0]], gap, tol, "aggressive pruning is not significantly less accurate" + where)]
    value = role_mean(b["ticket"], "early_stop_iteration") / role_mean(a["ticket"], "early_stop_iteration")
    reason = censored(a["ticket"], b["ticket"])
    tol = ratio(value, spreads[max(by_rate)].iterations["ticket"], trials(b["ticket"]),
                spreads[0.2].iterations["ticket"], trials(a["ticket"]))
    out.append(untestable(claims[keys[1]], reason, value) if reason else
               exceeds(claims[keys[1]], value, tol, "aggressive pruning is not significantly slower" + where))
    return out


def ticket_size(size: dict[str, Any], levels: list[dict[str, Any]], metric: str, largest: bool) -> int:
    """Weights of the smallest network that minimises convergence time (``metric`` early_stop_iteration) or
    maximises accuracy: the level with the best mean, in weights."""
    pick = max if largest else min
    best = pick(levels, key=lambda lv: (float(np.mean(lv["ticket"][metric])), -level_pm(lv) if largest else level_pm(lv)))
    return round(size["weights_total"] * level_pm(best) / 100)


def _one_shot(size: dict[str, Any]) -> list[dict[str, Any]]:
    return [size["rounds"][0]] + size["one_shot"]


def network_size_verdicts(result: dict[str, Any]) -> list[Verdict]:
    """v1's network-size statements: the one-shot ticket size (by convergence time and by accuracy) grows with
    the network; iterative tickets are smaller than one-shot ones, size by size."""
    claims = {c.key: c for c in sweeps_claims.CLAIMS}
    sizes = result["sizes"]
    n = len(sizes)
    keys = ("v1_ticket_size_grows", "v1_ticket_size_grows_accuracy", "v1_iterative_tickets_smaller")
    if n < 4:
        return [untestable(claims[k], "needs at least 4 network sizes") for k in keys]
    original = [s["weights_total"] for s in sizes]
    one_shot = [ticket_size(s, _one_shot(s), "early_stop_iteration", False) for s in sizes]
    by_accuracy = [ticket_size(s, _one_shot(s), "early_stop_accuracy", True) for s in sizes]
    iterative = [ticket_size(s, s["rounds"], "early_stop_iteration", False) for s in sizes]
    critical = spearman_critical(n, "sizes")
    out = [exceeds(claims[keys[0]], spearman(original, one_shot), critical,
                   "the one-shot ticket size does not grow significantly with the network"),
           exceeds(claims[keys[1]], spearman(original, by_accuracy), critical,
                   "the accuracy-based ticket size does not grow significantly with the network")]
    smaller = sum(i < o for i, o in zip(iterative, one_shot))
    factor = float(np.median([o / i for i, o in zip(iterative, one_shot)]))
    out.append(at_least(claims[keys[2]], 100 * smaller / n,
                        exact(f"every size must show it; median one-shot / iterative ticket size x{factor:.2g}",
                              f"{n} sizes"),
                        "iterative tickets are not smaller than one-shot ones at every size"))
    return out


def _series(items: list[tuple[str, list[dict[str, Any]]]]) -> list[PmSeries]:
    colours = plt.cm.viridis(np.linspace(0, 0.9, max(1, len(items))))
    return [PmSeries(rounds, "ticket", label, tuple(colour), "-") for colour, (label, rounds) in zip(colours, items)]


def _network_size_part(r: dict[str, Any], figures: Path) -> tuple[str, list[Verdict]]:
    """The network-size sweep: its two figures, the tickets' sizes and its statements."""
    sizes = r["sizes"]
    one_shot, iterative = [len(_one_shot(s)) for s in sizes], [len(s["rounds"]) for s in sizes]
    pm_figure(figures / "sweep_network_size_one_shot.png", _series([(s["label"], _one_shot(s)) for s in sizes]),
              PM_AXIS, "One-shot tickets of LeNets of several sizes\n"
              + run_scale([r], one_shot).tag("v1 §6's one-shot network-size figure"))
    pm_figure(figures / "sweep_network_size_iterative.png", _series([(s["label"], s["rounds"]) for s in sizes]),
              PM_AXIS, "Iterative tickets of LeNets of several sizes\n"
              + run_scale([r], iterative).tag("v1 §6's iterative network-size figure"))
    tag = run_scale([r], one_shot + iterative).tag("v1 §6's network-size figures")
    rows = [[s["label"], f"{s['weights_total']:,}"]
            + [f"{ticket_size(s, levels, metric, largest):,}" for levels in (_one_shot(s), s["rounds"])
               for metric, largest in (("early_stop_iteration", False), ("early_stop_accuracy", True))]
            for s in sizes]
    table = markdown_table(["network", "weights", "one-shot ticket (fastest)", "one-shot ticket (most accurate)",
                            "iterative ticket (fastest)", "iterative ticket (most accurate)"], rows)
    text = (f"### Network size\n\n{run_facts(r, _facts(r))}\n\n"
            "![one-shot sizes](figures/sweep_network_size_one_shot.png)\n\n"
            "![iterative sizes](figures/sweep_network_size_iterative.png)\n\n*LeNets "
            + ", ".join(s["label"] for s in sizes) + f" (3:1 like 300-100), one-shot and iterative tickets; {tag}.*"
            "\n\n**Ticket sizes** (weights of the level with the smallest "
            "mean early-stop iteration, and of the most accurate level; v1's two definitions):\n\n"
            f"{table}\n")
    return text, network_size_verdicts(r)


def _init_scale_part(r: dict[str, Any], figures: Path) -> str:
    """The init-scale sweep's two figures (sigma at or above 0.1, at or below) and their caption."""
    tag = run_scale([r], [len(s["rounds"]) for s in r["settings"]]).tag("v1 §6's two initialisation figures")
    for side, keep, name in (("above", lambda v: v >= 0.1, "sweep_init_scale.png"),
                             ("below", lambda v: v <= 0.1, "sweep_init_scale_small.png")):
        pm_figure(figures / name, _series([(s["label"], s["rounds"]) for s in r["settings"] if keep(s["value"])]),
                  PM_AXIS, f"Iterative tickets at init scales N(0, sigma), sigma {side} or at 0.1\n{tag}")
    return (f"### Initialisation scale\n\n{run_facts(r, _facts(r))}\n\n"
            "![init scale, larger](figures/sweep_init_scale.png)\n\n"
            "![init scale, smaller](figures/sweep_init_scale_small.png)\n\n*Tickets of LeNet-300-100 at "
            "N(0, sigma) for sigma " + ", ".join(f"{s['value']:g}" for s in r["settings"]) + " (each trial's "
            f"draws shared across sigmas, scaled), sigma >= 0.1 and <= 0.1; {tag}.*\n")


def _pruning_rate_part(r: dict[str, Any], figures: Path) -> str:
    """The pruning-rate sweep's figure and its caption."""
    tag = run_scale([r], [len(s["rounds"]) for s in r["settings"]]).tag("v1 §6's pruning-rate figure")
    pm_figure(figures / "sweep_pruning_rate.png", _series([(s["label"], s["rounds"]) for s in r["settings"]]),
              PM_AXIS, f"Iterative tickets at several pruning rates per round (output layer at half)\n{tag}")
    return (f"### Pruning rate\n\n{run_facts(r, _facts(r))}\n\n![pruning rate](figures/sweep_pruning_rate.png)\n\n"
            "*Tickets pruned at " + ", ".join(f"{100 * s['value']:g}%" for s in r["settings"]) + " of each "
            "hidden layer per round (the output layer at half) down to Pm "
            f"{100 * r['config']['min_remaining']:g}%; {tag}.*\n")


SWEEP_NAMES = {"init_scale": "init scale", "pruning_rate": "pruning rate", "network_size": "network size"}


def sweeps_finding(runs: dict[str, dict[str, Any]]) -> str:
    """Per setting sweep (init scale, pruning rate): the setting whose tickets are the most accurate."""
    best = [best_setting([(s["label"], s["rounds"]) for s in runs[kind]["settings"]])
            for kind in ("init_scale", "pruning_rate") if kind in runs]
    return f"most accurate tickets at {' and at '.join(best)}" if best else ""


def sweeps_section(results: Path, figures: Path) -> Section | None:
    """The three sweeps that have results: figures, ticket sizes, statements."""
    runs = {kind: read_json(results / "sweeps" / f"{kind}.json") for kind in ("init_scale", "pruning_rate", "network_size")
            if (results / "sweeps" / f"{kind}.json").exists()}
    if not runs:
        return None
    parts, verdicts, profiles = [], [], set()
    if "init_scale" in runs:
        r = runs["init_scale"]
        parts.append(_init_scale_part(r, figures))
        verdicts += init_scale_verdicts(r)
    if "pruning_rate" in runs:
        r = runs["pruning_rate"]
        parts.append(_pruning_rate_part(r, figures))
        verdicts += pruning_rate_verdicts(r)
    if "network_size" in runs:
        part, size_verdicts = _network_size_part(runs["network_size"], figures)
        parts.append(part)
        verdicts += size_verdicts
    profiles = {r["profile"] for r in runs.values()}
    text = ("## The first version's parameter sweeps (v1 §6)\n\nLeNet in the first version's setup (N(0, sigma) "
            "weights, zero biases, Adam 1.2e-3 as in `mnist_v1`), tickets only (rewound to their init each round), "
            "every setting and trial of one architecture in one population per round.\n\n" + "\n".join(parts)
            + "\n**The first version's §6 statements, on these runs:**\n\n" + ledger_table(verdicts) + "\n")
    return Section(text, verdicts, ", ".join(sorted(profiles)), sweeps_claims.HEADLINE,
                   scale=[RunConfig(SWEEP_NAMES[kind], f"sweep_{kind}", r["config"]) for kind, r in runs.items()],
                   finding=sweeps_finding(runs))


def _facts(result: dict[str, Any]) -> str:
    c = result["config"]
    stop = f", stopped {c['patience']} after the best" if c.get("patience") else ""
    rates = ("" if "hidden_rates" in c else f"; each round prunes {100 * c['hidden_rate']:g}% of each hidden layer "
             f"and {100 * c['output_rate']:g}% of the output layer")
    return (f"; {c['trials']} trials; at most {c['iterations']} iterations at batch {c['batch_size']}, evaluated every "
            f"{c['eval_every']}{stop}{rates}; down to Pm {100 * c['min_remaining']:g}%")
