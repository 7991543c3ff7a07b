"""The ledger in Markdown: each section's claims table and the report's one-line summary of the verdicts."""
from __future__ import annotations

from typing import Sequence

from lth.report.common import markdown_table
from lth.report.ledger.records import (CELL, DIRECTION, DIRECTION_FAILS, DIRECTION_HOLDS, FAILS, FITTED, HOLDS,
                                       OTHER_SETUP, UNTESTABLE, VERDICT_CODES, Verdict)

HOW_COUNTED = ("Counted are the papers' statements, each once: a table of the paper is one statement (it holds when "
               "every cell does; its cells are listed beneath it and not counted), and a number our setting was "
               "calibrated to is listed as fitted and never counted. The direction of an effect tested at a reduced "
               "scale (e.g. tickets beat random reinit in a narrower net) is counted apart: it is evidence for the "
               "paper's effect, not its value reproduced.")


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    return f"{value:.3g}{unit if unit in ('x', '%') else ' ' + unit}"


def _tolerance(v: Verdict) -> str:
    if v.tolerance is None or v.claim.unit == "% Pm":
        return f"x{v.tolerance:.3g}" if v.tolerance is not None else "–"
    return f"± {v.tolerance:.3g}"


def _verdict(v: Verdict) -> str:
    label = {CELL: "cell", FITTED: "fitted (calibration target, not tested)"}.get(v.claim.kind)
    return f"{label}: **{v.verdict}**" if label else f"**{v.verdict}**"


def _note(i: int, v: Verdict) -> str:
    """Row ``i``'s line beneath the table: how ours and its tolerance are computed, and why the verdict is what it
    is (the reason it fails or what would test it)."""
    parts = [v.claim.how] + ([f"tolerance: {v.tolerance_how}"] if v.tolerance_how else [])
    return f"{i}. " + "; ".join(parts) + "." + (f" **Why {v.verdict}:** {v.why.rstrip('.')}." if v.why else "")


def ledger_table(verdicts: Sequence[Verdict]) -> str:
    """The claims of one section as a Markdown table (number, statement, source, paper, ours, tolerance, trials,
    margin: the distance to the verdict's threshold in tolerances, verdict) and, beneath it, how each value and
    its tolerance are computed and why its verdict is what it is (numbered as the rows, so that no table row
    carries a paragraph)."""
    rows, notes = [], []
    for i, v in enumerate(verdicts, 1):
        c = v.claim
        margin = f"{v.margin:+.2f}" if v.margin is not None else "–"
        paper = f"> {_value(c.paper, c.unit)}" if c.kind == DIRECTION else _value(c.paper, c.unit)
        rows.append([str(i), c.quote, c.source, paper, _value(v.measured, c.unit), _tolerance(v),
                     v.trials or "–", margin, _verdict(v)])
        notes.append(_note(i, v))
    table = markdown_table(["#", "statement", "source", "paper", "ours", "tolerance", "trials", "margin",
                            "verdict"], rows)
    return f"{table}\n\n*How each row is computed, and why its verdict:*\n\n" + "\n".join(notes)


def counts(verdicts: Sequence[Verdict]) -> dict[str, int]:
    """How many of the counted statements (never cells or fitted targets) have each verdict, and how many
    reduced-scale directions hold, fail or are not testable (``directions_*``)."""
    counted = [v for v in verdicts if v.counted]
    out = {name: sum(v.verdict == name for v in counted) for name in VERDICT_CODES}
    directions = [v for v in verdicts if v.claim.kind == DIRECTION]
    out.update({f"directions_{key}": sum(v.verdict == name for v in directions)
                for key, name in (("hold", DIRECTION_HOLDS), ("fail", DIRECTION_FAILS), ("untestable", UNTESTABLE))})
    return out


def summary_line(verdicts: Sequence[Verdict], profile: str) -> str:
    """'K of N testable statements hold at profile P' with the counts of the other verdicts."""
    n = counts(verdicts)
    testable = n[HOLDS] + n[FAILS]
    other = (f" and {n[OTHER_SETUP]} belong to another paper version's setup (listed, not compared)"
             if n[OTHER_SETUP] else "")
    directions = n["directions_hold"] + n["directions_fail"]
    reduced = (f" Apart from these, at reduced scale the direction of {n['directions_hold']} of {directions} "
               "testable effects holds (evidence for the effect, not the paper's value)." if directions else "")
    return (f"**{n[HOLDS]} of {testable} testable statements hold at profile `{profile}`**; "
            f"{n[UNTESTABLE]} more are not testable at this profile{other}.{reduced}")
