"""What every report page uses: the section record, results reading, Markdown tables, per-level statistics,
and the matplotlib plumbing (Agg backend, atomic figure files, the Pm axis, min/max error bars).

Imports only matplotlib, numpy, the standard library and ``lth.io``: rebuilding the report never imports
torch or the experiment code, it reads ``results/`` only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lth.io import ContentError, read_json_file, write_bytes_atomic  # noqa: E402
from lth.report.parallel_figures import write_figure  # noqa: E402

FIGURE_DPI = 110


@dataclass
class Section:
    """One report section: Markdown text, its claims' verdicts (the ledger: claims.json and the summary line),
    the profile its results were run at, the claims whose measured values are its headline numbers
    (metrics.json), and any per-run numbers it reports beside its claims (claims.json). For the first screen:
    its runs' configs (``scale``: judged against the paper's settings), a one-line ``finding`` computed from
    its results, and a ``key_figure`` (file name in figures/, alt text, caption) to show there."""
    markdown: str
    verdicts: list[Any] = field(default_factory=list)     # lth.report.ledger.records.Verdict
    profile: str = ""
    headline: tuple[str, ...] = ()
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    scale: list[Any] = field(default_factory=list)        # lth.report.scale.RunConfig
    finding: str = ""
    key_figure: tuple[str, str, str] | None = None


def read_json(path: Path, require: tuple[str, ...] = ()) -> Any:
    """Parse a results file (the report's only input), a mapping holding every key of ``require``; a
    missing, truncated, unparsable or wrong-type file stops the report with one line naming it and the stage
    that writes it (from dvc.lock)."""
    def expect(payload: dict[str, Any]) -> None:
        missing = [key for key in require if key not in payload]
        if missing:
            raise ContentError(f"has no {missing[0]!r}")
    payload = read_json_file(path, expect=expect)
    config = payload.get("config") if isinstance(payload, dict) else None
    if isinstance(config, dict) and isinstance(config.get("patience"), int):
        mark_cut_short(payload, config["patience"])
    return payload


def mark_cut_short(record: Any, patience: int) -> None:
    """Give every group of trainings in a results file (a dict with ``early_stop_iteration`` and
    ``stopped_iteration``) a ``cut_short`` flag per member: its training ended before its stopping rule
    confirmed its minimum, i.e. the iteration cap stopped it less than ``patience`` iterations after its best
    validation loss (without patience: its minimum is at its last evaluation). A diverged member is not cut
    short (it is counted apart). The early-stop point of a cut-short member is a bound, not a measurement."""
    if isinstance(record, list):
        for item in record:
            mark_cut_short(item, patience)
    if not isinstance(record, dict):
        return
    best, stopped = record.get("early_stop_iteration"), record.get("stopped_iteration")
    if isinstance(best, list) and isinstance(stopped, list):
        diverged = record.get("diverged") or [False] * len(best)
        record["cut_short"] = [not gone and end - at < max(patience, 1)
                               for at, end, gone in zip(best, stopped, diverged)]
    for key, value in record.items():
        if key != "cut_short":
            mark_cut_short(value, patience)


def run_facts(result: dict[str, Any], extra: str = "") -> str:
    """The line every section starts with: profile, trials, device and library versions, so a reader knows
    what the numbers below were computed with."""
    env = result["environment"]
    return (f"*Profile `{result['profile']}`{extra}; device {env['device']}; torch {env['torch']}, "
            f"torchvision {env['torchvision']}, Python {env['python']}.*")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table (every table of the report)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def level_pm(level_round: dict[str, Any]) -> float:
    """Percent of weights remaining (Pm) at a pruning level, read from its tickets."""
    return 100 * level_round["ticket"]["pm"][0]


def nearest_level(rounds: list[dict[str, Any]], target: float) -> dict[str, Any]:
    """The level whose Pm is closest to ``target`` (the papers quote levels ours may not hit exactly)."""
    return min(rounds, key=lambda r: abs(level_pm(r) - target))


def level_stats(rounds: list[dict[str, Any]], role: str, metric: str) -> tuple[np.ndarray, ...]:
    """(Pm %, mean, min, max) of ``metric`` over the members of ``role`` at every level that has it: the
    points and bars of the Pm figures and the inputs of the papers' claims."""
    rows = [(100 * r[role]["pm"][0], np.mean(r[role][metric]), np.min(r[role][metric]), np.max(r[role][metric]))
            for r in rounds if role in r]
    return tuple(np.array(col) for col in zip(*rows)) if rows else tuple(np.array([]) for _ in range(4))


def cut_short(members: dict[str, Any]) -> int:
    """How many of a level's members were cut short (``mark_cut_short``: stopped by the iteration cap before
    their patience ran out; their early-stop point is a lower bound). Members read without a config's patience
    count as cut short when their minimum is at their last evaluation."""
    flags = members.get("cut_short")
    if flags is None:
        flags = [at == end for at, end in zip(members["early_stop_iteration"], members.get("stopped_iteration", []))]
    return sum(flags)


def censored(*groups: dict[str, Any]) -> str:
    """Why an early-stop iteration comparison of ``groups`` is a bound, not a measurement ('' when it is not):
    some run was cut short by its iteration cap before its patience confirmed its minimum (``cut_short``)."""
    count = sum(cut_short(g) for g in groups)
    return (f"censored: {count} of the runs compared were cut short by their iteration cap before their patience ran "
            "out (their early-stop iterations are lower bounds, kept out of ratios)") if count else ""


def level_cell(members: dict[str, Any]) -> str:
    """``early-stop iteration / test accuracy %`` (means over trials): a cell of the per-level tables; a
    trailing ``*n`` counts the members cut short by the iteration cap (``cut_short``)."""
    capped = cut_short(members)
    return (f"{np.mean(members['early_stop_iteration']):.0f} / "
            f"{100 * np.mean(members['early_stop_accuracy']):.2f}" + (f" *{capped}" if capped else ""))


def diverged_count(rounds: list[dict[str, Any]]) -> int:
    """How many trained members diverged over all levels and roles (reported so none is hidden)."""
    return sum(sum(r[role]["diverged"]) for r in rounds for role in r if isinstance(r[role], dict)
               and "diverged" in r[role])


def errorbars(ax: Any, x: Any, mean: np.ndarray, low: np.ndarray, high: np.ndarray, *, color: str,
              linestyle: str, marker: str, markersize: float, label: str) -> None:
    """Means with bars from min to max over trials (how the papers draw their Pm sweeps); a plain line when no
    point has a spread (one trial), so that its legend entry shows no bar either."""
    if np.allclose(low, high):
        ax.plot(x, mean, color=color, linestyle=linestyle, marker=marker, markersize=markersize, label=label)
        return
    ax.errorbar(x, mean, yerr=[mean - low, high - mean], color=color, linestyle=linestyle, marker=marker,
                markersize=markersize, capsize=2, label=label)


def thin_ticks(ticks: Sequence[float], xlim: tuple[float, float], min_gap: float = 0.08) -> list[float]:
    """The ticks of a log axis that lie within ``xlim``, thinned (largest first) so that no two are closer than
    ``min_gap`` of the axis' width: their labels never overprint. The smallest is kept, in place of its
    neighbour if need be."""
    low, high = min(xlim), max(xlim)
    inside = sorted({t for t in ticks if low <= t <= high}, reverse=True)
    gap = min_gap * np.log10(high / low)
    kept: list[float] = []
    for tick in inside:
        if not kept or np.log10(kept[-1] / tick) >= gap:
            kept.append(tick)
    if len(kept) > 1 and kept[-1] != inside[-1]:
        kept[-1] = inside[-1]
    return kept


def pm_axis(ax: Any, xlim: tuple[float, float], xticks: Sequence[float], xlabel: str, ylabel: str,
            minor_ticks: bool) -> None:
    """A Pm axis: log scale, dense on the left and sparse on the right, ticks labelled as plain numbers."""
    ax.set_xscale("log")
    ax.set_xticks(thin_ticks(xticks, xlim))
    ax.set_xlim(*xlim)
    ax.get_xaxis().set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.get_xaxis().set_minor_formatter(plt.NullFormatter())
    if not minor_ticks:
        ax.minorticks_off()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both" if minor_ticks else "major")


def save_figure(fig: Any, path: Path) -> None:
    """Lay out ``fig``, write it as PNG atomically (a failed write leaves neither a partial figure nor a
    temporary file) and close it. The saved area is cropped to what is drawn, so a legend placed outside the
    axes, or a long title, is neither cut nor padded."""
    def write() -> None:
        fig.tight_layout()
        write_bytes_atomic(path, lambda handle: fig.savefig(handle, dpi=FIGURE_DPI, format="png",
                                                            bbox_inches="tight", pad_inches=0.1))
    try:
        write_figure(path, write)        # in a forked writer while the report builds on (parallel_figures)
    finally:
        plt.close(fig)
