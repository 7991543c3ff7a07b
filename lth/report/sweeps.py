"""The first version's MNIST parameter sweeps (arXiv 1803.03635v1 §6): init scale, pruning rate and network size,
their figures, the tickets' sizes, and the section's statements tested on these runs."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from lth.report import sweeps_claims
from lth.report.common import Section, level_pm, markdown_table, nearest_level, plt, read_json, run_facts
from lth.report.figures import PmAxis, PmSeries, pm_figure
from lth.report.findings import best_setting
from lth.report.ledger.markdown import ledger_table
from lth.report.ledger.records import Verdict
from lth.report.ledger.rules import exceeds, untestable
from lth.report.ledger.statistics import TrialSpread, difference_tolerance, pooled_sd
from lth.report.scale import RunConfig

PM_AXIS = PmAxis("percent of weights remaining (Pm)")

# one-sided 5% critical values of Spearman's rank correlation for n = 4..10 points (exact permutation tables)
SPEARMAN_CRITICAL = {4: 1.0, 5: 0.9, 6: 0.829, 7: 0.714, 8: 0.643, 9: 0.6, 10: 0.564}


def _trial_means(rounds: list[dict[str, Any]], metric: str, log: bool = False) -> np.ndarray:
    """Each trial's mean of ``metric`` over the pruned levels (the independent units of a sweep comparison)."""
    values = np.array([r["ticket"][metric] for r in rounds[1:]], dtype=float)      # [levels, trials]
    if log:
        values = np.log(np.maximum(values, 1))
    return values.mean(axis=0) * (1 if log else 100)


def _compare(a: dict[str, Any], b: dict[str, Any], metric: str, log: bool) -> tuple[float, float, str]:
    """a - b of the per-trial level means (accuracy in pp), or a / b of iterations (log scale), with 2 SE."""
    ta, tb = _trial_means(a["rounds"], metric, log), _trial_means(b["rounds"], metric, log)
    sd = pooled_sd([list(ta), list(tb)])
    tol = difference_tolerance(sd, len(ta), len(tb))
    diff = float(ta.mean() - tb.mean())
    how = (f"2 SE of the difference of per-trial means; trial SD {sd:.3g}" + (" (log iterations)" if log else " pp")
           + f", {len(ta)} and {len(tb)} trials")
    if log:
        ratio = math.exp(diff)
        return ratio, ratio * tol, how
    return diff, tol, how


def init_scale_verdicts(result: dict[str, Any]) -> list[Verdict]:
    """v1's init-scale statements: sigma 0.1 against the largest and the smallest sigma of the sweep."""
    claims = {c.key: c for c in sweeps_claims.CLAIMS}
    by_std = {s["value"]: s for s in result["settings"]}
    out = []
    if 0.1 not in by_std:
        return [untestable(claims[k], "the sweep has no sigma 0.1") for k in
                ("v1_larger_init_slower", "v1_larger_init_less_accurate", "v1_smaller_init_more_accurate",
                 "v1_smaller_init_slower")]
    base, large, small = by_std[0.1], by_std[max(by_std)], by_std[min(by_std)]
    ratio, tol, how = _compare(large, base, "early_stop_iteration", True)
    out.append(exceeds(claims["v1_larger_init_slower"], ratio, tol, how, "larger inits are not significantly slower"))
    gap, tol, how = _compare(base, large, "early_stop_accuracy", False)
    out.append(exceeds(claims["v1_larger_init_less_accurate"], gap, tol, how,
                       "larger inits are not significantly less accurate"))
    gap, tol, how = _compare(small, base, "early_stop_accuracy", False)
    out.append(exceeds(claims["v1_smaller_init_more_accurate"], gap, tol, how,
                       "smaller inits are not significantly more accurate"))
    ratio, tol, how = _compare(small, base, "early_stop_iteration", True)
    out.append(exceeds(claims["v1_smaller_init_slower"], ratio, tol, how, "smaller inits are not significantly slower"))
    return out


def pruning_rate_verdicts(result: dict[str, Any]) -> list[Verdict]:
    """v1's pruning-rate statements: rate 0.2 against the largest rate, at matching levels."""
    claims = {c.key: c for c in sweeps_claims.CLAIMS}
    by_rate = {s["value"]: s for s in result["settings"]}
    keys = ("v1_aggressive_rate_less_accurate", "v1_aggressive_rate_slower")
    if 0.2 not in by_rate or max(by_rate) <= 0.2:
        return [untestable(claims[k], "the sweep needs rate 0.2 and a larger one") for k in keys]
    fast = by_rate[max(by_rate)]
    target = level_pm(fast["rounds"][-1])
    a, b = nearest_level(by_rate[0.2]["rounds"][1:], target), fast["rounds"][-1]
    spread = TrialSpread([lv for s in result["settings"] for lv in s["rounds"]], ("ticket",))
    gap = 100 * (np.mean(a["ticket"]["early_stop_accuracy"]) - np.mean(b["ticket"]["early_stop_accuracy"]))
    tol, how = spread.accuracy(a["ticket"], b["ticket"])
    where = f"; rate 0.2 at Pm {level_pm(a):.1f}%, rate {max(by_rate):g} at {level_pm(b):.1f}%"
    out = [exceeds(claims[keys[0]], float(gap), tol, how + where, "aggressive pruning is not significantly less accurate")]
    ratio = np.mean(b["ticket"]["early_stop_iteration"]) / np.mean(a["ticket"]["early_stop_iteration"])
    tol, how = spread.ratio(float(ratio), b["ticket"], a["ticket"])
    out.append(exceeds(claims[keys[1]], float(ratio), tol, how + where, "aggressive pruning is not significantly slower"))
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
    """v1's network-size statements: one-shot ticket size grows with the network; iterative tickets are smaller."""
    claims = {c.key: c for c in sweeps_claims.CLAIMS}
    sizes = result["sizes"]
    n = len(sizes)
    if n < 4:
        return [untestable(claims[k], "needs at least 4 network sizes") for k in
                ("v1_ticket_size_grows", "v1_iterative_tickets_smaller")]
    original = [s["weights_total"] for s in sizes]
    one_shot = [ticket_size(s, _one_shot(s), "early_stop_iteration", False) for s in sizes]
    iterative = [ticket_size(s, s["rounds"], "early_stop_iteration", False) for s in sizes]
    rho = spearman(original, one_shot)
    critical = SPEARMAN_CRITICAL.get(n, 1.645 / math.sqrt(n - 1))
    out = [exceeds(claims["v1_ticket_size_grows"], rho, critical,
                   f"one-sided 5% critical value of Spearman's rho for {n} sizes (the sizes are the units)",
                   "the one-shot ticket size does not grow significantly with the network")]
    balance = sum(i < o for i, o in zip(iterative, one_shot)) - sum(i > o for i, o in zip(iterative, one_shot))
    out.append(exceeds(claims["v1_iterative_tickets_smaller"], float(balance), 0.0,
                       "a count over the sizes (no trial tolerance: each ticket size is a level of the ladder)",
                       "iterative tickets are not smaller than one-shot ones for most sizes"))
    return out


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    def ranks(v):
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v), dtype=float)
        for value in set(v):                                  # ties share their mean rank
            tied = [i for i, w in enumerate(v) if w == value]
            r[tied] = np.mean(r[tied])
        return r
    rx, ry = ranks(list(x)), ranks(list(y))
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def _series(items: list[tuple[str, list[dict[str, Any]]]]) -> list[PmSeries]:
    colours = plt.cm.viridis(np.linspace(0, 0.9, max(1, len(items))))
    return [PmSeries(rounds, "ticket", label, tuple(colour), "-") for colour, (label, rounds) in zip(colours, items)]


def _network_size_part(r: dict[str, Any], figures: Path) -> tuple[str, list[Verdict]]:
    """The network-size sweep: its two figures, the tickets' sizes and its statements."""
    sizes = r["sizes"]
    pm_figure(figures / "sweep_network_size_one_shot.png", _series([(s["label"], _one_shot(s)) for s in sizes]),
              PM_AXIS, "v1 §6: one-shot tickets of LeNets of several sizes")
    pm_figure(figures / "sweep_network_size_iterative.png", _series([(s["label"], s["rounds"]) for s in sizes]),
              PM_AXIS, "v1 §6: iterative tickets of LeNets of several sizes")
    rows = [[s["label"], f"{s['weights_total']:,}"]
            + [f"{ticket_size(s, levels, metric, largest):,}" for levels in (_one_shot(s), s["rounds"])
               for metric, largest in (("early_stop_iteration", False), ("early_stop_accuracy", True))]
            for s in sizes]
    table = markdown_table(["network", "weights", "one-shot ticket (fastest)", "one-shot ticket (most accurate)",
                            "iterative ticket (fastest)", "iterative ticket (most accurate)"], rows)
    text = (f"### Network size\n\n{run_facts(r, _facts(r))}\n\n"
            "![one-shot sizes](figures/sweep_network_size_one_shot.png)\n\n"
            "![iterative sizes](figures/sweep_network_size_iterative.png)\n\n*LeNets "
            + ", ".join(s["label"] for s in sizes) + " (3:1 like 300-100); replicates v1 §6's one-shot and "
            "iterative network-size figures.*\n\n**Ticket sizes** (weights of the level with the smallest "
            "mean early-stop iteration, and of the most accurate level; v1's two definitions):\n\n"
            f"{table}\n")
    return text, network_size_verdicts(r)


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
        for side, keep, name in (("above", lambda v: v >= 0.1, "sweep_init_scale.png"),
                                 ("below", lambda v: v <= 0.1, "sweep_init_scale_small.png")):
            pm_figure(figures / name, _series([(s["label"], s["rounds"]) for s in r["settings"] if keep(s["value"])]),
                      PM_AXIS, f"v1 §6: iterative tickets at init scales N(0, sigma), sigma {side} or at 0.1")
        verdicts += init_scale_verdicts(r)
        parts.append(f"### Initialisation scale\n\n{run_facts(r, _facts(r))}\n\n"
                     "![init scale, larger](figures/sweep_init_scale.png)\n\n"
                     "![init scale, smaller](figures/sweep_init_scale_small.png)\n\n*Tickets of LeNet-300-100 at "
                     "N(0, sigma) for sigma " + ", ".join(f"{s['value']:g}" for s in r["settings"]) + " (each trial's "
                     "draws shared across sigmas, scaled), sigma >= 0.1 and <= 0.1; replicates v1 §6's two "
                     "initialisation figures.*\n")
    if "pruning_rate" in runs:
        r = runs["pruning_rate"]
        pm_figure(figures / "sweep_pruning_rate.png", _series([(s["label"], s["rounds"]) for s in r["settings"]]),
                  PM_AXIS, "v1 §6: iterative tickets at several pruning rates per round (output layer at half)")
        verdicts += pruning_rate_verdicts(r)
        parts.append(f"### Pruning rate\n\n{run_facts(r, _facts(r))}\n\n![pruning rate](figures/sweep_pruning_rate.png)\n\n"
                     "*Tickets pruned at " + ", ".join(f"{100 * s['value']:g}%" for s in r["settings"]) + " of each "
                     "hidden layer per round (the output layer at half) down to Pm "
                     f"{100 * r['config']['min_remaining']:g}%; replicates v1 §6's pruning-rate figure.*\n")
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
