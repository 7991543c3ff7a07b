"""The figures MNIST and CIFAR share: metrics vs Pm (the papers' sweeps) and test accuracy during training;
and what every figure of the report shares: its runs' scale in words (a figure replicates a paper's only at
the paper's scale, else it is an illustration and says what was reduced), its title, its legends.

Each experiment's page says what to draw (which levels, styles, axis); these functions draw it the same way
for all.
"""
from __future__ import annotations

import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib.container import ErrorbarContainer
from matplotlib.transforms import offset_copy

from lth.report.common import cut_short, errorbars, level_pm, level_stats, pm_axis, plt, save_figure

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
    """The x axis of a Pm figure: it spans the levels drawn (15% margin), ticked at those of ``xticks`` (or
    of the levels' Pm) within that span, thinned so that no two labels overprint."""
    xlabel: str
    xticks: Sequence[float] | None = None
    minor_ticks: bool = True


def _draw_series(axes: Any, line: PmSeries) -> tuple[np.ndarray, list[np.ndarray]] | None:
    """One series in both panels of a Pm figure, a level with a member cut short by its cap ringed in the
    iteration panel; return its Pm and its means in each panel (None: no level has the role)."""
    pm, *iterations = level_stats(line.rounds, line.role, "early_stop_iteration")
    if not len(pm):
        return None
    _, *accuracy = level_stats(line.rounds, line.role, "early_stop_accuracy")
    panels = (iterations, [100 * a for a in accuracy])
    for ax, (mean, low, high) in zip(axes, panels):
        errorbars(ax, pm, mean, low, high, color=line.color, linestyle=line.linestyle, marker=line.marker,
                  markersize=line.markersize, label=line.label)
    capped = np.array([cut_short(r[line.role]) > 0 for r in line.rounds if line.role in r])
    if capped.any():
        axes[0].scatter(pm[capped], iterations[0][capped], s=70, facecolors="none", edgecolors="k",
                        linewidths=0.8, label="ringed: cut short by the iteration cap", zorder=5)
    return pm, [panel[0] for panel in panels]


def pm_figure(path: Path, series: list[PmSeries], axis: PmAxis, title: str) -> None:
    """Early-stop iteration (left) and test accuracy at early stop (right) vs Pm, log x decreasing, points at
    the means and bars from min to max over trials (the papers' Figs. 1, 4-8 layout). A level with a member
    cut short by the iteration cap (``cut_short``: stopped before its patience confirmed its minimum) is
    ringed in the iteration panel. The x axis spans the levels drawn; the legend sits below the panels."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.3))
    drawn = [found for line in series if (found := _draw_series(axes, line)) is not None]
    pms = [p for pm, _ in drawn for p in pm]
    xlim = (max(pms) * 1.15, min(pms) / 1.15)
    xticks = axis.xticks if axis.xticks is not None else [round(p, 1) for p in pms]
    for i, (ax, ylabel) in enumerate(zip(axes, PM_YLABELS)):
        pm_axis(ax, xlim, xticks, axis.xlabel, ylabel, axis.minor_ticks)
        note_coinciding(ax, [v for _, means in drawn for v in means[i]], len(drawn))
    legend_below(fig, axes[::-1])                  # the series first, the ring's entry last
    figure_title(fig, title)
    save_figure(fig, path)


@dataclass(frozen=True)
class CurvesPanel:
    """One panel of a curves figure: the levels of ``rounds`` that recorded curves, with optional title and
    y range, and a legend if ``legend``."""
    rounds: list[dict[str, Any]]
    title: str | None = None
    ylim: tuple[float, float] | None = None
    legend: bool = True


def _level_curve(ax: Any, iterations: np.ndarray, accuracy: np.ndarray, colour: Any, label: str) -> None:
    """One level's test accuracy over training (``accuracy``: [trials, evaluations], NaN after a trial stopped):
    the mean over the trials still running, to the longest trial's end, thick while every trial runs and thin
    after the first has stopped; the min-max band where two or more run."""
    running = (~np.isnan(accuracy)).sum(0)
    its, acc, running = iterations[running > 0], accuracy[:, running > 0], running[running > 0]
    with warnings.catch_warnings():                    # a column with one trial has no spread: no band there
        warnings.simplefilter("ignore", RuntimeWarning)
        mean, low, high = np.nanmean(acc, 0), np.nanmin(acc, 0), np.nanmax(acc, 0)
    every = int(np.argmin(running == len(accuracy))) if (running < len(accuracy)).any() else len(its)
    ax.plot(its[:every], mean[:every], color=colour, label=label)
    if every < len(its):
        ax.plot(its[max(every - 1, 0):], mean[max(every - 1, 0):], color=colour, linewidth=0.7)
    if len(accuracy) > 1:
        ax.fill_between(its, low, high, where=running >= 2, color=colour, alpha=0.2, linewidth=0)


def curves_figure(path: Path, panels: list[CurvesPanel], figsize: tuple[float, float], title: str) -> None:
    """Test accuracy over training of the tickets at the levels that recorded curves (mean over the trials
    still running, min-max band, one colour per level; see ``_level_curve``), one panel per entry of
    ``panels``, each panel's legend below it (paper Fig. 3 and companions)."""
    fig, axes = plt.subplots(1, len(panels), figsize=figsize, squeeze=False)
    for ax, panel in zip(axes[0], panels):
        recorded = [r for r in panel.rounds if "curves" in r]
        colours = plt.cm.viridis(np.linspace(0, 0.9, max(1, len(recorded))))
        for colour, r in zip(colours, recorded):
            accuracy = 100 * np.array(r["curves"]["test_accuracy"], dtype=float)   # null after a trial's stop
            _level_curve(ax, np.array(r["curves"]["iterations"]), accuracy, colour, f"Pm {level_pm(r):.1f}%")
        if panel.ylim is not None:
            ax.set_ylim(*panel.ylim)
        if panel.title is not None:
            ax.set_title(panel.title)
        ax.set_xlabel("training iteration")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3)
        if panel.legend:
            panel_legend_below(ax)
    figure_title(fig, title)
    save_figure(fig, path)


# --- what every figure of the report shares: its scale in words, its title, legends outside the data ---

@dataclass(frozen=True)
class Scale:
    """The scale of a figure's runs: the paper's (``reduced`` empty), or reduced and what its runs were."""
    reduced: str = ""

    def tag(self, source: str) -> str:
        """'replicates <source>' at the paper's scale, else '<source>, illustration (reduced: <what>)'."""
        return f"{source}, illustration (reduced: {self.reduced})" if self.reduced else f"replicates {source}"


def _span(values: Sequence[float], unit: str = "", fmt: str = "{:,}") -> str:
    """'2 trials', '2-3 levels', 'x0.125-0.25': the range of ``values`` in words ('' when there are none)."""
    found = sorted(set(values))
    if not found:
        return ""
    text = fmt.format(found[0]) + (f"-{fmt.format(found[-1])}" if len(found) > 1 else "")
    return f"{text} {unit}{'s' if found[-1] != 1 else ''}" if unit else text


def run_scale(runs: Sequence[dict[str, Any]], levels: Sequence[int] = ()) -> Scale:
    """The scale of ``runs`` (each with its ``profile`` and ``config``; ``levels``: how many Pm levels each
    draws): the paper's when every run is at profile ``paper`` at full width on every training image, else
    what the runs were, read from their configs (trials, levels, width, training length, training images)."""
    if not runs:
        raise ValueError("the scale of no run")
    configs = [r["config"] for r in runs]
    widths = [c.get("width", 1.0) for c in configs]
    images = [c["train_examples"] for c in configs if c.get("train_examples")]
    if all(r["profile"] == "paper" for r in runs) and min(widths) >= 1 and not images:
        return Scale()
    patience = [c["patience"] for c in configs if c.get("patience")]
    iterations = _span([c["iterations"] for c in configs if "iterations" in c], "iteration")
    facts = [_span([c["trials"] for c in configs if "trials" in c], "trial"), _span(levels, "level"),
             "width x" + _span(widths, fmt="{:g}") if min(widths, default=1) < 1 else "",
             ("at most " if patience else "") + iterations if iterations else "",
             _span([c["epochs"] for c in configs if "epochs" in c], "epoch"),
             "stopped " + _span(patience) + " after the best" if patience else "", _span(images, "training image")]
    return Scale(", ".join(fact for fact in facts if fact) or "profile " + ", ".join(r["profile"] for r in runs))


def figure_title(fig: Any, title: str, fontsize: float = 11) -> None:
    """The figure's title, each line wrapped to the figure's width so that a long title is never cut."""
    chars = int(fig.get_size_inches()[0] * 72 / (0.52 * fontsize))
    fig.suptitle("\n".join(textwrap.fill(line, chars) for line in title.split("\n")), fontsize=fontsize)


def _columns(width: float, labels: Sequence[str], fontsize: float) -> int:
    """How many legend columns of these labels fit in ``width`` inches."""
    column = 0.6 + 0.065 * max(len(label) for label in labels) * fontsize / 8
    return max(1, min(len(labels), int(width / column)))


def legend_below(fig: Any, axes: Sequence[Any], fontsize: float = 8, bars: bool = True) -> None:
    """One legend for the whole figure, centred below its panels (never over the data): every entry of
    ``axes``, each label once; with ``bars`` False an error-bar series shows as its line and marker only."""
    entries: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle if bars or not isinstance(handle, ErrorbarContainer) else handle[0])
    if entries:
        fig.legend(list(entries.values()), list(entries), loc="upper center", bbox_to_anchor=(0.5, 0.0),
                   ncol=_columns(fig.get_size_inches()[0], list(entries), fontsize), fontsize=fontsize,
                   frameon=False)


def panel_legend_below(ax: Any, entries: tuple[list[Any], list[str]] | None = None, fontsize: float = 8,
                       drop: float = 0.5) -> None:
    """The panel's legend (its labelled artists, or ``entries``: handles and labels) below its x label,
    ``drop`` inches under the axes: never over its data."""
    handles, labels = entries if entries is not None else ax.get_legend_handles_labels()
    if not handles:
        return
    width = ax.get_position().width * ax.figure.get_size_inches()[0]
    below = offset_copy(ax.transAxes, fig=ax.figure, y=-drop, units="inches")
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below,
              ncol=_columns(width, labels, fontsize), fontsize=fontsize, frameon=False)


def note_coinciding(ax: Any, values: Sequence[float], lines: int) -> None:
    """On a panel whose ``lines`` (two or more) all lie on one value, say so: they hide each other."""
    if lines > 1 and len(values) and np.ptp(values) == 0:
        ax.text(0.5, 0.62, f"all {lines} lines lie at {values[0]:g}\nand hide each other", ha="center",
                va="center", transform=ax.transAxes, fontsize=9, color="0.3")
