"""The claims ledger: every testable statement of the papers as one record, and its verdict at this profile.

A record (``Claim``) holds the quote, the paper version and section, what it is computed from and how, and
the paper's value. The report's sections measure it (``Verdict``): our value, a tolerance derived from the
measured trial-to-trial spread (stated with how it was derived), and one of four verdicts:

- **holds**: our measurement is consistent with the statement within the tolerance (a value: within it;
  "more than X": not below X by more than it; "A beats B": the excess is larger than it; "no better":
  not above by more than it; a Pm level: within one level of our ladder);
- **does not hold**: it is not (the record says the likely reason where we know it);
- **not testable at this profile**: the runs at this profile cannot test it (the record says what would);
- **other setup, not compared**: the statement belongs to another paper version's setup that this
  pipeline has not run; it is listed, never set against a run of another setup.

Tolerances are never chosen: they follow from the spread of the trials (or from the resolution of the
pruning ladder, for statements about a Pm level), as each verdict states.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from lth.report.common import markdown_table

HOLDS, FAILS = "holds", "does not hold"
UNTESTABLE, OTHER_SETUP = "not testable at this profile", "other setup, not compared"
VERDICT_CODES = {HOLDS: 1, FAILS: 0, UNTESTABLE: None, OTHER_SETUP: None}

FINAL = "Frankle & Carbin, ICLR 2019"
V1 = "Frankle & Carbin 2018 (arXiv v1)"


@dataclass(frozen=True)
class Claim:
    """One statement of a paper: what it says, where, its value, and how we compute ours."""
    key: str
    experiment: str           # the report section that measures it: xor | mnist | cifar
    quote: str
    source: str               # paper version and section
    paper: float | None       # the paper's value (None: a statement without one number)
    unit: str
    how: str                  # which results it is computed from and how


@dataclass(frozen=True)
class Verdict:
    """A claim measured at this profile."""
    claim: Claim
    verdict: str
    measured: float | None = None
    tolerance: float | None = None
    tolerance_how: str = ""
    why: str = ""             # the likely reason it fails, or what would make it testable

    def metrics(self) -> dict[str, Any]:
        """The entry of reports/metrics.json: measured, paper, tolerance, verdict (and 1/0/null)."""
        return {"measured": _rounded(self.measured), "paper": self.claim.paper,
                "tolerance": _rounded(self.tolerance), "verdict": self.verdict,
                "holds": VERDICT_CODES[self.verdict]}


def _rounded(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 4)


# ---------------------------------------------------------------------------------------- comparisons
def equals(claim: Claim, measured: float | None, tolerance: float, tolerance_how: str,
           why_not: str = "") -> Verdict:
    """Holds when |measured - paper| <= tolerance."""
    if measured is None or not math.isfinite(measured):
        return Verdict(claim, FAILS, None, tolerance, tolerance_how, why_not or "not reached in our runs")
    holds = abs(measured - claim.paper) <= tolerance
    return Verdict(claim, HOLDS if holds else FAILS, measured, tolerance, tolerance_how, "" if holds else why_not)


def at_least(claim: Claim, measured: float | None, tolerance: float, tolerance_how: str,
             why_not: str = "") -> Verdict:
    """Holds when measured >= paper - tolerance (a statement 'more than X': not significantly below X)."""
    if measured is None or not math.isfinite(measured):
        return Verdict(claim, FAILS, None, tolerance, tolerance_how, why_not or "not reached in our runs")
    holds = measured >= claim.paper - tolerance
    return Verdict(claim, HOLDS if holds else FAILS, measured, tolerance, tolerance_how, "" if holds else why_not)


def on_ladder(claim: Claim, measured: float | None, ladder: Sequence[float], why_not: str = "") -> Verdict:
    """A Pm-level statement: holds when the paper's Pm lies between the neighbours of our level on our
    ladder of levels (its resolution); the tolerance reported is the factor to the farther neighbour."""
    levels = sorted(set(float(p) for p in ladder), reverse=True)
    how = "one level of our Pm ladder either side (its resolution)"
    if measured is None:
        return Verdict(claim, FAILS, None, None, how, why_not or "no level of ours shows it")
    index = min(range(len(levels)), key=lambda i: abs(math.log(levels[i] / measured)))
    upper = levels[index - 1] if index > 0 else math.inf
    lower = levels[index + 1] if index + 1 < len(levels) else 0.0
    holds = lower <= claim.paper <= upper
    factor = max(upper / measured if math.isfinite(upper) else 1.0, measured / lower if lower else 1.0)
    return Verdict(claim, HOLDS if holds else FAILS, measured, round(factor, 3), how + " (x" + f"{factor:.2f})",
                   "" if holds else why_not)


def exceeds(claim: Claim, measured: float | None, tolerance: float, tolerance_how: str,
            why_not: str = "") -> Verdict:
    """An effect ('A beats B'): holds when measured - paper > tolerance (significantly above)."""
    if measured is None or not math.isfinite(measured):
        return Verdict(claim, FAILS, None, tolerance, tolerance_how, why_not or "not reached in our runs")
    holds = measured - claim.paper > tolerance
    return Verdict(claim, HOLDS if holds else FAILS, measured, tolerance, tolerance_how,
                   "" if holds else why_not or "not significantly above the trial spread")


def at_most(claim: Claim, measured: float | None, tolerance: float, tolerance_how: str,
            why_not: str = "") -> Verdict:
    """'No better than': holds when measured <= paper + tolerance (not significantly above)."""
    if measured is None or not math.isfinite(measured):
        return Verdict(claim, FAILS, None, tolerance, tolerance_how, why_not or "not reached in our runs")
    holds = measured <= claim.paper + tolerance
    return Verdict(claim, HOLDS if holds else FAILS, measured, tolerance, tolerance_how, "" if holds else why_not)


def untestable(claim: Claim, why: str, measured: float | None = None) -> Verdict:
    """A claim this profile's runs cannot test (``why``: what would), with our reduced-scale value if any."""
    return Verdict(claim, UNTESTABLE, measured, None, "", why)


def reduced_scale(config: dict[str, Any], extra: Sequence[str] = ()) -> str | None:
    """Why a run cannot test a statement about the paper's full-size net (None: it can): a narrower net or
    fewer training images (as its config says), and ``extra`` reasons."""
    reasons = []
    if config.get("width", 1.0) < 1:
        reasons.append(f"width x{config['width']:g}")
    if config.get("train_examples"):
        reasons.append(f"{config['train_examples']:,} training images")
    reasons += list(extra)
    if not reasons:
        return None
    return ("reduced scale (" + "; ".join(reasons) + "); the paper's net, rounds and trials (profile `paper`) "
            "test it; our reduced-scale value is shown")


def unless_reduced(verdicts: Sequence[Verdict], reason: str | None) -> list[Verdict]:
    """The verdicts as they are, or, when ``reason`` says the run is reduced-scale, each as not testable
    with its measured value shown."""
    return list(verdicts) if reason is None else [untestable(v.claim, reason, v.measured) for v in verdicts]


def other_setup(claim: Claim, why: str) -> Verdict:
    """A claim of another paper version's setup, listed but not compared."""
    return Verdict(claim, OTHER_SETUP, None, None, "", why)


# ------------------------------------------------------------------------------------------- spreads
def pooled_sd(groups: Sequence[Sequence[float]]) -> float:
    """The pooled standard deviation of several groups of trials (groups of one member add nothing);
    NaN when no group has two members."""
    num = sum((len(g) - 1) * float(np.var(g, ddof=1)) for g in groups if len(g) > 1)
    dof = sum(len(g) - 1 for g in groups if len(g) > 1)
    return math.sqrt(num / dof) if dof else math.nan


def mean_and_se(values: Sequence[float]) -> tuple[float, float]:
    """The mean of some independent values and its standard error (NaN for a single value)."""
    mean = float(np.mean(values))
    return mean, float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else math.nan


def difference_tolerance(sd: float, n_a: int, n_b: int) -> float:
    """Two standard errors of a difference of two means of ``n_a`` and ``n_b`` trials with spread ``sd``."""
    return 2 * sd * math.sqrt(1 / n_a + 1 / n_b)


def _trial_groups(rounds: list[dict[str, Any]], roles: tuple[str, ...], metric: str,
                 log: bool = False) -> list[list[float]]:
    """Per level and role, the trials' values of ``metric`` (accuracies in pp; iterations on a log scale)."""
    return [list(np.log(np.maximum(r[role][metric], 1)) if log else 100 * np.array(r[role][metric]))
            for r in rounds for role in roles if role in r]


class TrialSpread:
    """Tolerances of a comparison of two roles, from the pooled trial-to-trial spread of their levels."""

    def __init__(self, rounds: list[dict[str, Any]], roles: tuple[str, ...]):
        accuracies = _trial_groups(rounds, roles, "early_stop_accuracy")
        self.accuracy_sd = pooled_sd(accuracies)
        # early-stop iterations vary multiplicatively: their spread is pooled on a log scale
        self.log_iteration_sd = pooled_sd(_trial_groups(rounds, roles, "early_stop_iteration", log=True))
        self.groups = len(accuracies)
        self.roles = roles

    def accuracy(self, a: dict[str, Any], b: dict[str, Any]) -> tuple[float, str]:
        """(two standard errors of a difference of mean accuracies in pp, how it was derived)."""
        tol = difference_tolerance(self.accuracy_sd, len(a["early_stop_accuracy"]), len(b["early_stop_accuracy"]))
        return tol, (f"2 SE of the difference; trial SD {self.accuracy_sd:.2f} pp pooled over {self.groups} "
                     f"groups ({'/'.join(self.roles)} at every level)")

    def ratio(self, ratio: float, a: dict[str, Any], b: dict[str, Any]) -> tuple[float, str]:
        """(two standard errors of a ratio of mean early-stop iterations, how it was derived)."""
        se = self.log_iteration_sd * math.sqrt(1 / len(a["early_stop_iteration"]) + 1 / len(b["early_stop_iteration"]))
        return 2 * se * ratio, (f"2 SE; trial SD of log early-stop iteration {self.log_iteration_sd:.2f} pooled over "
                                f"{self.groups} groups ({'/'.join(self.roles)} at every level)")


def role_mean(members: dict[str, Any], metric: str) -> float:
    """Mean of ``metric`` over a role's members at one level."""
    return float(np.mean(members[metric]))


# -------------------------------------------------------------------------------------------- output
def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    return f"{value:.3g}{unit if unit in ('x', '%') else ' ' + unit}"


def ledger_table(verdicts: Sequence[Verdict]) -> str:
    """The claims of one section as a Markdown table: statement, source, paper, ours, tolerance, verdict."""
    rows = []
    for v in verdicts:
        c = v.claim
        tolerance = (f"± {v.tolerance:.3g} ({v.tolerance_how})" if v.tolerance is not None and v.claim.unit != "% Pm"
                     else v.tolerance_how or "–")
        verdict = f"**{v.verdict}**" + (f": {v.why}" if v.why else "")
        rows.append([c.quote, c.source, _value(c.paper, c.unit), _value(v.measured, c.unit), tolerance, verdict,
                     c.how])
    return markdown_table(["statement", "source", "paper", "ours", "tolerance", "verdict", "computed from"], rows)


def summary_line(verdicts: Sequence[Verdict], profile: str) -> str:
    """'K of N testable claims hold at profile P' with the counts of the other verdicts."""
    counts = {name: sum(v.verdict == name for v in verdicts) for name in VERDICT_CODES}
    testable = counts[HOLDS] + counts[FAILS]
    other = (f" and {counts[OTHER_SETUP]} belong to another paper version's setup (listed, not compared)"
             if counts[OTHER_SETUP] else "")
    return (f"**{counts[HOLDS]} of {testable} testable claims hold at profile `{profile}`**; "
            f"{counts[UNTESTABLE]} more are not testable at this profile{other}.")


# ------------------------------------------------------------------------------------------- records
MNIST_FINAL_CLAIMS = [
    Claim("mnist_ticket_faster_21", "mnist",
           "tickets learn faster as Pm falls from 100% to 21%, where early stopping occurs 38% earlier than for "
           "the original network", FINAL + " §2", 38.0, "% earlier",
           "IMP tickets at the level nearest Pm 21.1%: 100 x (1 - mean early-stop iteration / the dense net's)"),
    Claim("mnist_ticket_gain_13", "mnist", "test accuracy improves by more than 0.3 percentage points at Pm 13.5%",
           FINAL + " §2", 0.3, "pp",
           "IMP tickets at the level nearest Pm 13.5%: mean test accuracy at early stop minus the dense net's"),
    Claim("mnist_ticket_back_to_dense_3_6", "mnist",
           "at Pm 3.6% test accuracy returns to the level of the original network", FINAL + " §2", 0.0, "pp",
           "IMP tickets at the level nearest Pm 3.6%: mean test accuracy at early stop minus the dense net's"),
    Claim("mnist_ticket_vs_reinit_speed_21", "mnist",
           "at Pm 21% the ticket reaches minimum validation loss 2.51x faster than when reinitialized",
           FINAL + " §2", 2.51, "x", "level nearest Pm 21.1%: mean early-stop iteration of the random reinits / "
           "of the tickets"),
    Claim("mnist_ticket_vs_reinit_accuracy_21", "mnist",
           "at Pm 21% the ticket is half a percentage point more accurate than when reinitialized",
           FINAL + " §2", 0.5, "pp", "level nearest Pm 21.1%: mean test accuracy at early stop of the tickets "
           "minus the random reinits'"),
    Claim("mnist_reinit_accuracy_falls_pm", "mnist",
           "random reinitialisation's accuracy starts to fall from Pm 21.1%", FINAL + " §2", 21.1, "% Pm",
           "largest IMP level from which every sparser level's mean reinit accuracy is below the dense net's by "
           "more than two standard errors"),
    Claim("mnist_ticket_accuracy_falls_pm", "mnist", "the ticket's accuracy falls only from Pm 2.9%",
           FINAL + " §2", 2.9, "% Pm", "as above, for the IMP tickets"),
    Claim("mnist_ticket_gain_at_50k", "mnist",
           "at iteration 50,000 tickets still improve test accuracy by up to 0.35 pp although training accuracy "
           "reaches 100%", FINAL + " §2", 0.35, "pp",
           "largest (over IMP levels) mean final test accuracy of the tickets minus the dense net's, after "
           "50,000 iterations"),
    Claim("mnist_one_shot_faster_pm", "mnist",
           "one-shot: tickets reach minimum validation loss earlier than the original network for "
           "67.5% >= Pm >= 17.6%", FINAL + " §2", 17.6, "% Pm",
           "smallest one-shot level down to which every level's mean early-stop iteration is below the dense "
           "net's"),
    Claim("mnist_one_shot_more_accurate_pm", "mnist",
           "one-shot: tickets are more accurate than the original network for 95.0% >= Pm >= 5.17%",
           FINAL + " §2", 5.17, "% Pm",
           "smallest one-shot level down to which every level's mean test accuracy at early stop is above "
           "the dense net's"),
]

MNIST_V1_CLAIMS = [
    Claim("v1_one_shot_fastest_pm", "mnist_v1", "one-shot: convergence gets faster as more of the network is "
           "pruned, until a pruning level of around 55%", V1 + " §3", 55.0, "% Pm",
           "the one-shot level (or the dense net) with the smallest mean early-stop iteration"),
    Claim("v1_one_shot_most_accurate_pm", "mnist_v1", "one-shot: accuracy increases as more of the network is "
           "pruned, until around 55%", V1 + " §3", 55.0, "% Pm",
           "the one-shot level (or the dense net) with the largest mean test accuracy at early stop"),
    Claim("v1_one_shot_faster_75_25", "mnist_v1", "one-shot tickets pruned to between 75% and 25% converge at "
           "least 25% faster than the original network", V1 + " §3", 25.0, "% faster",
           "smallest speedup (1 - ticket / dense mean early-stop iteration) over the one-shot levels with "
           "25% <= Pm <= 75%"),
    Claim("v1_one_shot_accuracy_75_25", "mnist_v1", "one-shot tickets pruned to between 75% and 25% keep their "
           "accuracy within 0.15 pp of the original network's", V1 + " §3", 0.15, "pp",
           "largest |ticket - dense| mean test accuracy at early stop over the one-shot levels with "
           "25% <= Pm <= 75%"),
    Claim("v1_ticket_vs_reinit_speed_35", "mnist_v1", "35% one-shot tickets converge 1.91x as fast as their "
           "reinitialised controls", V1 + " §3", 1.91, "x",
           "reinit / ticket mean early-stop iteration at the one-shot level nearest Pm 35%"),
    Claim("v1_ticket_vs_reinit_speed_25", "mnist_v1", "25% one-shot tickets converge 2.28x as fast as their "
           "reinitialised controls", V1 + " §3", 2.28, "x",
           "reinit / ticket mean early-stop iteration at the one-shot level nearest Pm 25%"),
    Claim("v1_controls_more_variable", "mnist_v1", "the control networks exhibited a much higher level of "
           "variance (in convergence time) than the winning tickets", V1 + " §3", 1.0, "x",
           "pooled trial SD of log early-stop iteration, reinit controls / tickets, over the one-shot levels "
           "(holds when significantly above 1)"),
    Claim("v1_ticket_back_to_dense_speed_pm", "mnist_v1", "iterative tickets return to the original network's "
           "convergence time when pruned to 1.8%", V1 + " §4", 1.8, "% Pm",
           "largest IMP level from which on every sparser level's mean early-stop iteration is at or above "
           "the dense net's"),
    Claim("v1_one_shot_back_to_dense_speed_pm", "mnist_v1", "one-shot tickets return to the original "
           "convergence time between 5% and 10% (7.1%: the range's geometric middle)", V1 + " §4", 7.1, "% Pm",
           "largest one-shot level from which on every sparser level's mean early-stop iteration is at or "
           "above the dense net's"),
    Claim("v1_one_shot_accuracy_drops_pm", "mnist_v1", "one-shot accuracy begins to drop off at 15%",
           V1 + " §4", 15.0, "% Pm",
           "largest one-shot level from which on every sparser level is below the dense net by more than 2 SE"),
    Claim("v1_reinit_accuracy_drops_pm", "mnist_v1", "reinitialised controls' accuracy begins to drop off once "
           "pruned to 37%", V1 + " §4", 37.0, "% Pm",
           "largest IMP level from which on every sparser level's reinit is below the dense net by more than 2 SE"),
    Claim("v1_ticket_accuracy_drops_pm", "mnist_v1", "iterative tickets' accuracy drops off when pruned to 1.5%",
           V1 + " §4", 1.5, "% Pm",
           "largest IMP level from which on every sparser level's tickets are below the dense net by more than 2 SE"),
    Claim("v1_rewire_accuracy_drops_pm", "mnist_v1", "randomly rewired controls' accuracy begins to drop off "
           "around 52%", V1 + " §4", 52.0, "% Pm",
           "largest IMP level from which on every sparser level's rewiring is below the dense net by more than 2 SE"),
    Claim("v1_rewind_beats_han", "mnist_v1", "resetting to the original init holds accuracy longer than Han et "
           "al.'s continued training (the differences appear only at very small sizes)", V1 + " §6", 0.0, "pp",
           "ticket minus Han mean test accuracy at early stop at the sparsest IMP level (holds when "
           "significantly above 0)"),
    Claim("v1_tails_survive", "mnist_v1", "iterative pruning gradually results in approximately bimodal "
           "distributions of the surviving initial weights: the tails of the original normal distribution "
           "survive", V1 + " §5", 31.7, "%",
           "first hidden layer at the sparsest examined level: % of survivors with |w0| above one SD of the "
           "layer's initial weights (31.7% for an unpruned normal init; holds when significantly above)"),
    Claim("v1_few_units_cut_off", "mnist_v1", "winning tickets are quite sparse in connections but only a "
           "fraction of the units have been eliminated entirely (read here: fewer than half)", V1 + " §5", 50.0,
           "%", "% of both hidden layers' units with no surviving incoming connection at the sparsest examined "
           "level"),
]


V1_SWEEPS = V1 + " §6"
SWEEP_CLAIMS = [
    Claim("v1_larger_init_slower", "sweeps", "with standard deviations >= 0.1, convergence times become "
                 "slower with larger standard deviations", V1_SWEEPS, 1.0, "x",
                 "largest sigma / sigma 0.1: mean over trials of each trial's mean early-stop iteration over the "
                 "pruned levels (holds when significantly above 1)"),
    Claim("v1_larger_init_less_accurate", "sweeps", "... and accuracy decreases with larger standard "
                 "deviations", V1_SWEEPS, 0.0, "pp",
                 "sigma 0.1 minus the largest sigma: test accuracy at early stop, per-trial means over the pruned "
                 "levels (holds when significantly above 0)"),
    Claim("v1_smaller_init_more_accurate", "sweeps", "with standard deviations <= 0.1, accuracy increases "
                 "as standard deviations decrease", V1_SWEEPS, 0.0, "pp",
                 "smallest sigma minus sigma 0.1: test accuracy at early stop, per-trial means over the pruned "
                 "levels (holds when significantly above 0)"),
    Claim("v1_smaller_init_slower", "sweeps", "... while convergence times become slower", V1_SWEEPS, 1.0,
                 "x", "smallest sigma / sigma 0.1: per-trial mean early-stop iteration over the pruned levels "
                 "(holds when significantly above 1)"),
    Claim("v1_aggressive_rate_less_accurate", "sweeps", "winning tickets extracted by aggressive pruning "
                 "(e.g. 70% or 50% per round) have poorer accuracy than tickets pruned more slowly", V1_SWEEPS,
                 0.0, "pp", "rate 0.2 minus the largest rate: test accuracy at early stop at the level of each "
                 "nearest to the largest rate's sparsest level (holds when significantly above 0)"),
    Claim("v1_aggressive_rate_slower", "sweeps", "... and poorer convergence times", V1_SWEEPS, 1.0, "x",
                 "largest rate / rate 0.2: early-stop iteration at those levels (holds when significantly above 1)"),
    Claim("v1_ticket_size_grows", "sweeps", "the winning ticket size (smallest network that minimises "
                 "convergence time) gradually increases with the size of the original network (one-shot)",
                 V1_SWEEPS, 0.0, "rho", "Spearman rank correlation of original size and one-shot ticket size "
                 "(weights at the level of minimum mean early-stop iteration) over the sizes (holds when above the "
                 "one-sided 5% critical value)"),
    Claim("v1_iterative_tickets_smaller", "sweeps", "with iterative pruning the minimum convergence times "
                 "occur at much smaller sizes than with one-shot pruning", V1_SWEEPS, 0.0, "sizes",
                 "number of network sizes whose iterative ticket (level of minimum mean early-stop iteration) is "
                 "smaller than its one-shot ticket, minus those where it is larger (holds when above 0)"),
]


XOR_SOURCE = V1 + " §2"
XOR_CLAIMS = [
    Claim("xor_iterative_beats_one_shot", "xor", "iterative pruning finds winning tickets at a higher rate than "
           "one-shot pruning (2 units: 91.5% vs 82.4% find the decision boundary)", XOR_SOURCE, 0.0, "pp",
           "DB rate at 2 units, product heuristic: iterative minus one-shot (holds when significantly above 0)"),
    Claim("xor_product_best", "xor", "the magnitude product heuristic provides the best results (iterative, "
           "2 units: 91.5% vs 83.8% and 78.6%)", XOR_SOURCE, 0.0, "pp",
           "DB rate at 2 units, iterative: product minus the better of input and output magnitude (holds when significantly above 0)"),
    Claim("xor_tickets_beat_random_init", "xor", "winning tickets find the correct decision boundary at a much "
           "higher rate than randomly initialised networks of the same size (2 units: 91.5% vs 49.1%)",
           V1 + " §2, §9", 0.0, "pp",
           "DB rate at 2 units: iterative product tickets minus random-init 2-unit nets (holds when significantly above 0)"),
]


def xor_cell_claim(table: str, mode: str, heuristic: str, units: int, metric: str, paper: float) -> Claim:
    """One cell of the paper's XOR tables as a claim (``table``: random_init | pruning)."""
    name = "DB" if metric == "db" else "ZL"
    if table == "random_init":
        return Claim(f"xor_random_{units}_units_{metric}", "xor",
                      f"random init, {units} units: {paper:g}% {'find the decision boundary' if metric == 'db' else 'reach zero loss'}",
                      XOR_SOURCE + ", first table", paper, "%",
                      f"{name} rate of the random-init nets; calibration target (the xor setting is the calibration's "
                      "closest to this table, so agreement here is fitted, not tested)")
    return Claim(f"xor_{mode}_{heuristic}_{units}_units_{metric}", "xor",
                  f"{mode.replace('_', '-')} {heuristic.replace('_', ' ')} pruning to {units} units, reset: "
                  f"{paper:g}% {'find the decision boundary' if metric == 'db' else 'reach zero loss'}",
                  XOR_SOURCE + ", second table", paper, "%", f"{name} rate of the pruned, reset nets")


# (net, paper speedup x, at Pm %, paper accuracy gain pp, at Pm %), final paper §3 / Fig. 5
_CONV = {"conv2": ("Conv-2", 3.5, 8.8, 3.4, 4.6), "conv4": ("Conv-4", 3.5, 9.2, 3.5, 11.1),
         "conv6": ("Conv-6", 2.5, 15.1, 3.3, 26.4)}
# dropout raises the dense net's accuracy by (pp), pruning then adds up to (pp): §3, Fig. 6
_DROPOUT = {"conv2": (2.1, 2.3), "conv4": (3.0, 4.6), "conv6": (2.4, 4.7)}


def cifar_claims() -> list[Claim]:
    """The final paper's CIFAR-10 statements (§3-4)."""
    out = []
    for net, (title, speed, speed_pm, gain, gain_pm) in _CONV.items():
        out.append(Claim(f"{net}_speedup", "cifar", f"{title} tickets reach minimum validation loss up to {speed:g}x "
                          f"faster than the original network (at Pm {speed_pm:g}%)", FINAL + " §3, Fig. 5", speed, "x",
                          "largest dense / ticket ratio of mean early-stop iterations over the IMP levels (plain)"))
        out.append(Claim(f"{net}_accuracy_gain", "cifar", f"{title} tickets are up to {gain:g} pp more accurate "
                          f"than the original network (at Pm {gain_pm:g}%)", FINAL + " §3, Fig. 5", gain, "pp",
                          "largest mean test accuracy of the tickets minus the dense net's over the IMP levels"))
        out.append(Claim(f"{net}_above_dense_pm", "cifar", f"{title} tickets stay above the original network's "
                          "accuracy while Pm > 2%", FINAL + " §3", 2.0, "% Pm",
                          "smallest IMP level down to which every level's mean ticket accuracy is not below the "
                          "dense net's by more than two standard errors"))
        raise_pp, adds = _DROPOUT[net]
        out.append(Claim(f"{net}_dropout_raises_dense", "cifar", f"dropout raises the dense {title}'s accuracy by "
                          f"{raise_pp:g} pp", FINAL + " §3, Fig. 6", raise_pp, "pp",
                          "dense test accuracy at early stop: dropout run minus plain run"))
        out.append(Claim(f"{net}_dropout_pruning_adds", "cifar", f"with dropout, pruning adds up to {adds:g} pp "
                          f"to {title}'s accuracy", FINAL + " §3, Fig. 6", adds, "pp",
                          "dropout run: largest mean ticket accuracy minus the dense net's over the IMP levels"))
    for net, title in (("vgg19", "VGG-19"), ("resnet20", "ResNet-20")):
        out.append(Claim(f"{net}_high_lr_no_tickets", "cifar", f"{title} at learning rate 0.1 (no warmup): IMP "
                          "finds no winning tickets; tickets do no better than random reinit", FINAL + " §4, Figs. 7-8",
                          0.0, "pp", "high_lr run, sparsest level: ticket minus reinit mean test accuracy "
                          "(holds when not significantly above 0)"))
        out.append(Claim(f"{net}_low_lr_tickets", "cifar", f"{title} at learning rate 0.01: winning tickets exist "
                          "(they beat random reinit)", FINAL + " §4, Figs. 7-8", 0.0, "pp",
                          "low_lr run, sparsest level: ticket minus reinit mean test accuracy (holds when "
                          "significantly above 0)"))
        out.append(Claim(f"{net}_warmup_tickets", "cifar", f"{title} at rate 0.1 with warmup: winning tickets "
                          "at the higher rate's accuracy (they beat random reinit)", FINAL + " §4, Figs. 7-8", 0.0,
                          "pp", "warmup run, sparsest level: ticket minus reinit mean test accuracy (holds when "
                          "significantly above 0)"))
    out.append(Claim("resnet20_dense_accuracy", "cifar", "the dense ResNet-20 reaches 90.5% at rate 0.1",
                      FINAL + " §4, Fig. 8", 90.5, "%", "high_lr run: mean dense test accuracy at early stop"))
    return out


ZHOU = "Zhou et al. 2019 (Deconstructing Lottery Tickets), follow-ups post"
_OVER_LEVELS = ("test accuracy at early stop, mean over every level and trial: {a} minus {b} (tolerance from the "
                "trial spread of both at every level)")
DECONSTRUCT_CLAIMS = [
    Claim("zhou_magnitude_increase_competitive", "deconstruct", "the mask criterion of weight magnitude increase "
          "from training is equally competitive [with large_final]", ZHOU, 0.0, "pp",
          _OVER_LEVELS.format(a="magnitude_increase", b="large_final") + "; holds when within the tolerance of 0"),
    *[Claim(f"zhou_{c}_worse", "deconstruct", f"other variants ({c.replace('_', ' ')} ...) are less so [competitive]",
            ZHOU, 0.0, "pp", _OVER_LEVELS.format(a="large_final", b=c) + "; holds when significantly above 0")
      for c in ("large_init", "small_init", "small_final")],
    *[Claim(f"zhou_sign_matters_{a}", "deconstruct", f"keeping the sign is what matters: {a} with the initial "
            "signs beats it with random signs", ZHOU, 0.0, "pp",
            _OVER_LEVELS.format(a=f"{a}_init_sign", b=a) + "; holds when significantly above 0")
      for a in ("reinit", "reshuffle", "constant")],
    Claim("zhou_zero_beats_freeze", "deconstruct", "the standard mask-0 action of converting pruned weights to 0 is "
          "essential: freezing them at their initial values degrades performance", ZHOU, 0.0, "pp",
          _OVER_LEVELS.format(a="zero", b="freeze_init") + "; holds when significantly above 0"),
    Claim("zhou_freeze_moved_away_beats_zero", "deconstruct", "freezing the pruned weights that moved away from zero "
          "and zeroing the others is more powerful than the vanilla zeroing", ZHOU, 0.0, "pp",
          _OVER_LEVELS.format(a="freeze_moved_away", b="zero") + "; holds when significantly above 0"),
    Claim("zhou_supermask_86", "deconstruct", "a randomly initialised network with sign masks applied obtains up to "
          "86% accuracy on MNIST", ZHOU, 86.0, "%",
          "untrained large_final_same_sign mask with signed constants: the largest mean test accuracy over the "
          "supermask levels (holds when not below 86% by more than 2 SE of that level's trials)"),
    Claim("zhou_supermask_above_chance", "deconstruct", "... far out-performing random chance of 10%", ZHOU, 10.0,
          "%", "the same supermask's largest mean test accuracy (holds when above 10% by more than 2 SE)"),
]

VANDERSMISSEN = "Vandersmissen & Oramas (layerwise importance), abstract"
IMPORTANCE_CLAIMS = [
    Claim("vo_little_overlap", "importance", "given a repeatable training procedure, different importance metrics "
          "lead to distinct lottery tickets with little overlapping connections", VANDERSMISSEN, 0.5, "",
          "sparsest level: (IoU of two metrics' tickets of one trial - IoU of one metric's tickets of two trials) / "
          "(1 - the latter), mean over metric pairs: 0 = as unrelated as tickets of different seeds, 1 = identical; "
          "holds when not above 0.5 (closer to unrelated than to identical; a stated threshold, not a spread) by "
          "more than 2 SE over trials"),
    Claim("vo_performant", "importance", "... distinct performant lottery tickets", VANDERSMISSEN, 0.0, "pp",
          "test accuracy at early stop, mean over the pruned levels and trials: the worst metric minus global "
          "magnitude (holds when not below 0 by more than the tolerance from the trial spread at every level)"),
]

YOU = "You et al. 2019 (Drawing Early-Bird Tickets), follow-ups post"
EARLY_BIRD_CLAIMS = [
    Claim("eb_early", "early_bird", "early-bird tickets can be found very early in training: they appear within "
          "the first 10-20% of training at a large learning rate", YOU + "; issue wording", 20.0, "%",
          "latest early-bird epoch over the pruning ratios and trials, as a percent of the search's epochs (holds "
          "when at most 20% plus one epoch, the resolution of drawing once per epoch)"),
    Claim("eb_accuracy", "early_bird", "the early-bird ticket, retrained, performs as well as the ticket pruned "
          "after full training", YOU, 0.0, "pp",
          "retrained test accuracy: early-bird ticket minus after-training ticket, mean over the retrained ratios "
          "and trials (holds when not below 0 by more than 2 SE of the paired differences)"),
    Claim("eb_savings", "early_bird", "the early-bird training scheme saves energy by x4.7", YOU, 4.7, "x",
          "training FLOPs (search + retraining, counted from the surviving channels of every step) of the "
          "after-training ticket over the early-bird ticket's, mean over the retrained tickets (FLOPs, not energy; "
          "holds when not below 4.7 by more than 2 SE over them)"),
]

FRANKLE_LMC = "Frankle et al. 2020 (rewinding, linear mode connectivity); beyond the seeds"
REWINDING_CLAIMS = [
    *[c for net, title in (("vgg19", "VGG-19"), ("resnet20", "ResNet-20")) for c in (
        Claim(f"{net}_rewind0_no_better_than_reinit", "rewinding", f"{title} at learning rate 0.1: tickets found "
              "with rewinding to iteration 0 do no better than random reinitialisation", FRANKLE_LMC, 0.0, "pp",
              "sparsest level: ticket (k = 0, both copies) minus reinit test accuracy (holds when not above 0 by "
              "more than 2 SE from the copies' spread)"),
        Claim(f"{net}_late_rewind_recovers", "rewinding", f"{title}: rewinding to an early iteration k > 0 "
              "recovers winning tickets (they beat random reinitialisation)", FRANKLE_LMC, 0.0, "pp",
              "sparsest level: the best k > 0's ticket (both copies) minus reinit test accuracy (holds when "
              "significantly above 0)"),
        Claim(f"{net}_matching_tickets_stable", "rewinding", f"{title}: the tickets that match the dense "
              "accuracy are the stable ones (test error rises by less than 2 points between two copies)",
              FRANKLE_LMC, 0.0, "k values",
              "sparsest level: number of k at which 'matches dense' (ticket accuracy not below the dense copies' "
              "by more than 2 SE) and 'stable' (instability < 2 points) disagree (holds at 0)"))],
]
