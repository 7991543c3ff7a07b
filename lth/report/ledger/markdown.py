"""The ledger in Markdown: each section's claims table and the report's one-line summary of the verdicts."""
from __future__ import annotations

from typing import Sequence

from lth.report.common import markdown_table
from lth.report.ledger.records import FAILS, HOLDS, OTHER_SETUP, UNTESTABLE, VERDICT_CODES, Verdict


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

