"""The spreads the ledger's tolerances come from, and the tolerances themselves.

A tolerance is a 95% two-sided interval half-width: a Student t quantile at the spread's degrees of freedom
times a standard error. A difference of two groups uses both groups' spreads (Welch: each side's own standard
deviation, the degrees of freedom by Welch-Satterthwaite), or, where every variant of a study is trained alike, one
spread pooled over all of them (``pooled_difference``); "equals the paper's value" adds the paper's own
sampling error at its trial count (our per-trial spread standing in for the paper's). Iteration counts vary
multiplicatively, so their spread is taken on a log scale and a ratio's tolerance is its interval on that scale,
carried to the ratio.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from statistics import NormalDist
from typing import Any, Sequence

import numpy as np

CONFIDENCE = 0.95

# one-sided 5% critical values of Spearman's rank correlation for n = 4..10 points (exact permutation tables)
SPEARMAN_CRITICAL = {4: 1.0, 5: 0.9, 6: 0.829, 7: 0.714, 8: 0.643, 9: 0.6, 10: 0.564}


def pooled_sd(groups: Sequence[Sequence[float]]) -> float:
    """The pooled standard deviation of several groups of trials (groups of one member add nothing);
    NaN when no group has two members."""
    num = sum((len(g) - 1) * float(np.var(g, ddof=1)) for g in groups if len(g) > 1)
    dof = sum(len(g) - 1 for g in groups if len(g) > 1)
    return math.sqrt(num / dof) if dof else math.nan


def pooled_dof(groups: Sequence[Sequence[float]]) -> int:
    """Degrees of freedom of ``pooled_sd`` over the same groups: trials minus groups (of two or more)."""
    return sum(len(g) - 1 for g in groups if len(g) > 1)


def _t_cdf(x: float, dof: float) -> float:
    """Student t cumulative distribution at x >= 0, by Simpson's rule on the density (2,000 panels: the
    quantiles below are exact to about 1e-6, far below what a tolerance needs)."""
    log_norm = math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2) - 0.5 * math.log(dof * math.pi)
    grid = np.linspace(0.0, x, 2001)
    density = np.exp(log_norm - (dof + 1) / 2 * np.log1p(grid ** 2 / dof))
    weights = np.ones(2001)
    weights[1:-1:2], weights[2:-1:2] = 4, 2
    return 0.5 + float(np.sum(weights * density)) * (x / 2000) / 3


@functools.lru_cache(maxsize=None)
def t_quantile(dof: float, confidence: float = CONFIDENCE) -> float:
    """The two-sided Student t quantile for ``dof`` degrees of freedom (12.71 at 1, 2.78 at 4, 1.96 at
    infinity for 95%), by bisection on the distribution function."""
    if not dof > 0:
        return math.inf
    if dof > 1e6:
        return NormalDist().inv_cdf(0.5 + confidence / 2)
    target, low, high = 0.5 + confidence / 2, 0.0, 1.0
    while _t_cdf(high, dof) < target:
        low, high = high, 2 * high
    for _ in range(50):
        mid = (low + high) / 2
        low, high = (mid, high) if _t_cdf(mid, dof) < target else (low, mid)
    return (low + high) / 2


@dataclass(frozen=True)
class Spread:
    """A trial-to-trial standard deviation with its degrees of freedom and where it comes from."""
    sd: float
    dof: float
    source: str

    @classmethod
    def of(cls, groups: Sequence[Sequence[float]], source: str) -> "Spread":
        """The pooled spread of ``groups`` (each a list of trial values of one setting)."""
        return cls(pooled_sd(groups), pooled_dof(groups), source)


@dataclass(frozen=True)
class Tolerance:
    """A verdict's tolerance: the interval half-width, how it was derived, the degrees of freedom of the
    spread behind it, the trial counts it compares (shown with the verdict) and the fewest degrees of freedom
    of any one spread it combines (a difference's two sides: Welch's combined count can be large while one
    side's spread rests on two trials)."""
    value: float
    how: str
    dof: float = math.inf
    trials: str = ""
    side_dof: float = math.inf

    def scaled(self, factor: float) -> "Tolerance":
        """The same tolerance in another unit (e.g. a fraction as a percentage)."""
        return replace(self, value=self.value * factor)


def exact(how: str, trials: str = "") -> Tolerance:
    """A zero tolerance for a value that has no trial spread (a count, a rank, a fitted setting)."""
    return Tolerance(0.0, how, math.inf, trials)


def welch(a: Spread, n_a: int, b: Spread, n_b: int, paper_trials: int | None = None) -> tuple[float, float]:
    """(standard error, Welch-Satterthwaite degrees of freedom) of a difference of two means of ``n_a`` and
    ``n_b`` trials, each side with its own spread; with ``paper_trials``, of that difference minus the paper's
    (its two means of ``paper_trials`` trials each, estimated with our spreads)."""
    extra = 1 / paper_trials if paper_trials else 0.0
    va, vb = a.sd ** 2 * (1 / n_a + extra), b.sd ** 2 * (1 / n_b + extra)
    se = math.sqrt(va + vb)
    if not (a.dof > 0 and b.dof > 0):
        return se, 0.0
    dof = (va + vb) ** 2 / (va ** 2 / a.dof + vb ** 2 / b.dof) if va + vb > 0 else min(a.dof, b.dof)
    return se, dof


def _paper(paper_trials: int | None) -> str:
    return f" and the paper's {paper_trials} trials" if paper_trials else ""


def difference(a: Spread, n_a: int, b: Spread, n_b: int, paper_trials: int | None = None,
               unit: str = "pp") -> Tolerance:
    """The tolerance of a difference of two means (A - B), from both sides' spreads (and the paper's sampling
    error at ``paper_trials``, when it is compared with the paper's difference)."""
    se, dof = welch(a, n_a, b, n_b, paper_trials)
    t = t_quantile(dof)
    sides = (f"SD {a.sd:.3g} {unit} ({a.source}) and {b.sd:.3g} {unit} ({b.source})" if a != b else
             f"SD {a.sd:.3g} {unit} ({a.source})")
    return Tolerance(t * se, f"t({dof:.1f}) = {t:.2f} x SE of A - B{_paper(paper_trials)}; {sides}", dof,
                     f"{n_a} vs {n_b}" + (f" (paper {paper_trials})" if paper_trials else ""), min(a.dof, b.dof))


def pooled_difference(spread: Spread, n_a: int, n_b: int, unit: str = "pp") -> Tolerance:
    """The tolerance of a difference of two means (A - B) whose two sides share one trial spread (``spread``,
    pooled over every variant of a study, as a one-way analysis of variance's error term): its degrees of
    freedom are the spread's own, not Welch's combination of two."""
    se = spread.sd * math.sqrt(1 / n_a + 1 / n_b)
    t = t_quantile(spread.dof)
    return Tolerance(t * se, f"t({spread.dof:g}) = {t:.2f} x SE of A - B; SD {spread.sd:.3g} {unit} "
                     f"({spread.source})", spread.dof, f"{n_a} vs {n_b}", spread.dof)


def ratio(value: float, a: Spread, n_a: int, b: Spread, n_b: int, paper_trials: int | None = None) -> Tolerance:
    """The tolerance of a ratio of two mean iteration counts (A / B), from the spreads of their logarithms:
    the larger distance from ``value`` to the ends of its interval on the log scale."""
    se, dof = welch(a, n_a, b, n_b, paper_trials)
    t = t_quantile(dof)
    half = value * (math.exp(t * se) - 1) if math.isfinite(t * se) else math.inf
    return Tolerance(half, f"t({dof:.1f}) = {t:.2f} x SE of log A - log B{_paper(paper_trials)}; log SD "
                     f"{a.sd:.3g} ({a.source}) and {b.sd:.3g} ({b.source})", dof,
                     f"{n_a} vs {n_b}" + (f" (paper {paper_trials})" if paper_trials else ""), min(a.dof, b.dof))


def versus_paper(spread: Spread, n_ours: int, n_paper: int | None, unit: str = "pp") -> Tolerance:
    """The tolerance of "our mean equals the paper's": our standard error and the paper's at its trial count
    (our per-trial spread as its estimate); without the paper's count, ours alone (said so)."""
    paper_part = 1 / n_paper if n_paper else 0.0
    se = spread.sd * math.sqrt(1 / n_ours + paper_part)
    t = t_quantile(spread.dof)
    paper = f"the paper's {n_paper} trials" if n_paper else "the paper's trial count unknown: ours only"
    return Tolerance(t * se, f"t({spread.dof:g}) = {t:.2f} x SE of ours and {paper}; SD {spread.sd:.3g} {unit} "
                     f"({spread.source})", spread.dof, f"{n_ours} (paper {n_paper or '?'})", spread.dof)


def mean_tolerance(values: Sequence[float], what: str) -> tuple[float, Tolerance]:
    """The mean of independent values (one per trial) and its tolerance: the t quantile at n - 1 degrees of
    freedom times its standard error (none with one value: 0 degrees of freedom)."""
    n = len(values)
    mean = float(np.mean(values))
    if n < 2:
        return mean, Tolerance(math.inf, f"one {what}: no spread", 0.0, "1")
    sd = float(np.std(values, ddof=1))
    t = t_quantile(n - 1)
    return mean, Tolerance(t * sd / math.sqrt(n), f"t({n - 1}) = {t:.2f} x SE of the mean over {n} {what}s (SD "
                           f"{sd:.3g})", n - 1, str(n))


def role_mean(members: dict[str, Any], metric: str) -> float:
    """Mean of ``metric`` over a role's members at one level."""
    return float(np.mean(members[metric]))


def trials(members: dict[str, Any]) -> int:
    """How many trials a role's members at one level hold."""
    return len(members["early_stop_accuracy"])


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


def spearman_critical(n: int, units: str) -> Tolerance:
    """The one-sided 5% critical value of Spearman's rho for ``n`` points (exact tables up to 10, the normal
    approximation above) as the tolerance of a trend statement over ``units``."""
    critical = SPEARMAN_CRITICAL.get(n, 1.645 / math.sqrt(n - 1))
    return Tolerance(critical, f"one-sided 5% critical value of Spearman's rho for {n} {units}", math.inf,
                     f"{n} {units}")
