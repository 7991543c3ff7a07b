"""The figures MNIST and CIFAR share: metrics vs Pm (the papers' sweeps) and test accuracy during training.

Each experiment's page says what to draw (which levels, styles, axis); these functions draw it the same way
for both.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from lth.report.common import at_last_evaluation, errorbars, level_pm, level_stats, pm_axis, plt, save_figure

PM_YLABELS = ("early-stop iteration (min. validation loss)", "test accuracy at early stop (%)")


@dataclass(frozen=True)
class PmSeries:
    """One line of a Pm figure: the members of ``role`` at each level of ``rounds``, drawn in this style."""
    rounds: list[dict[str, Any]]
    role: str
    label: str
    color: str
    linestyle: str
    marker: str = "o"
    markersize: float = 3


# the LeNet pages' roles: (legend label, colour, line style)
ROLE_STYLE = {"ticket": ("winning ticket (rewind to init)", "tab:blue", "-"),
              "reinit": ("random reinit", "tab:orange", "--"),
              "rewire": ("random rewiring", "tab:green", "--"),
              "random_mask": ("random sparse mask", "tab:red", ":"),
              "han": ("Han et al.: prune, continue training", "tab:purple", "-."),
              "one_shot": ("one-shot ticket", "tab:brown", "-")}


def role_series(role: str, rounds: list[dict[str, Any]], label: str | None = None) -> PmSeries:
    """The Pm-figure line of ``role`` over ``rounds``, in the LeNet pages' style for that role."""
    name, colour, style = ROLE_STYLE[role]
    return PmSeries(rounds, role, label or name, colour, style)


@dataclass(frozen=True)
class PmAxis:
    """The x axis of a Pm figure; without ``xlim``/``xticks`` they follow the levels drawn (15% margin)."""
    xlabel: str
    xlim: tuple[float, float] | None = None
    xticks: Sequence[float] | None = None
    minor_ticks: bool = True


def pm_figure(path: Path, series: list[PmSeries], axis: PmAxis, title: str) -> None:
    """Early-stop iteration (left) and test accuracy at early stop (right) vs Pm, log x decreasing, points at
    the means and bars from min to max over trials (the papers' Figs. 1, 4-8 layout). A level with a member
    whose minimum validation loss is at its last evaluation (still improving when its training ended) is
    ringed in the iteration panel."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.3))
    pms: list[float] = []
    ringed = False
    for line in series:
        pm, *iterations = level_stats(line.rounds, line.role, "early_stop_iteration")
        if not len(pm):
            continue
        _, *accuracy = level_stats(line.rounds, line.role, "early_stop_accuracy")
        pms += list(pm)
        for ax, (mean, low, high) in zip(axes, (iterations, [100 * a for a in accuracy])):
            errorbars(ax, pm, mean, low, high, color=line.color, linestyle=line.linestyle, marker=line.marker,
                      markersize=line.markersize, label=line.label)
        capped = [at_last_evaluation(r[line.role]) > 0 for r in line.rounds if line.role in r]
        if any(capped):
            axes[0].scatter(pm[capped], iterations[0][capped], s=70, facecolors="none", edgecolors="k",
                            linewidths=0.8, label=None if ringed else "minimum at the last evaluation", zorder=5)
            ringed = True
    xlim = axis.xlim if axis.xlim is not None else (max(pms) * 1.15, min(pms) / 1.15)
    xticks = axis.xticks if axis.xticks is not None else sorted(set(round(p, 1) for p in pms), reverse=True)
    for ax, ylabel in zip(axes, PM_YLABELS):
        pm_axis(ax, xlim, xticks, axis.xlabel, ylabel, axis.minor_ticks)
    axes[1].legend(fontsize=8)
    if ringed:
        axes[0].legend(fontsize=8, loc="upper left")
    fig.suptitle(title, fontsize=11)
    save_figure(fig, path)


@dataclass(frozen=True)
class CurvesPanel:
    """One panel of a curves figure: the levels of ``rounds`` that recorded curves, with optional title and
    y range, and a legend if ``legend``."""
    rounds: list[dict[str, Any]]
    title: str | None = None
    ylim: tuple[float, float] | None = None
    legend: bool = True


def curves_figure(path: Path, panels: list[CurvesPanel], figsize: tuple[float, float], title: str) -> None:
    """Test accuracy over training of the tickets at the levels that recorded curves (mean line, min-max
    band over trials, one colour per level), one panel per entry of ``panels`` (paper Fig. 3 and companions)."""
    fig, axes = plt.subplots(1, len(panels), figsize=figsize, squeeze=False)
    for ax, panel in zip(axes[0], panels):
        recorded = [r for r in panel.rounds if "curves" in r]
        colours = plt.cm.viridis(np.linspace(0, 0.9, max(1, len(recorded))))
        for colour, r in zip(colours, recorded):
            its = np.array(r["curves"]["iterations"])
            # a member that stopped early has null after its stop: the mean ends at the first stop
            acc = 100 * np.array(r["curves"]["test_accuracy"], dtype=float)
            ax.plot(its, acc.mean(0), color=colour, label=f"Pm {level_pm(r):.1f}%")
            with warnings.catch_warnings():            # columns after every member stopped are all NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                ax.fill_between(its, np.nanmin(acc, 0), np.nanmax(acc, 0), color=colour, alpha=0.2)
        if panel.ylim is not None:
            ax.set_ylim(*panel.ylim)
        if panel.title is not None:
            ax.set_title(panel.title)
        ax.set_xlabel("training iteration")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3)
        if panel.legend:
            ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    save_figure(fig, path)
