"""The report's two JSON files: ``metrics.json``, the headline numbers ``dvc metrics show`` prints (per
experiment the claims holding, failing and not testable, and the measured values its claim records name as
headline), and ``claims.json``, the full ledger (every claim's quote, source, paper value, measured value,
tolerance and verdict, keyed by experiment and claim id) for ``dvc metrics diff`` / ``dvc plots``."""
from __future__ import annotations

from typing import Any

from lth.report.common import Section
from lth.report.ledger.markdown import counts
from lth.report.ledger.records import FAILS, HOLDS, OTHER_SETUP, UNTESTABLE, Verdict

COUNTS = (("holds", HOLDS), ("fails", FAILS), ("not_testable", UNTESTABLE))


def verdict_counts(verdicts: list[Verdict], directions: bool = True) -> dict[str, int]:
    """How many statements hold, fail and are not testable (and belong to another setup, when any do):
    statements only, never a table's cells or a fitted calibration target; apart from them, when a section has
    any (and ``directions``), how many reduced-scale directions hold and fail: the report's totals line has
    the rest, and ``all`` leaves them out so that ``dvc metrics show`` fits a terminal (about 40 numbers)."""
    n = counts(verdicts)
    tested = {key: n[key] for key in ("directions_hold", "directions_fail")} if directions else {}
    return {**{name: n[verdict] for name, verdict in COUNTS},
            **({"other_setup": n[OTHER_SETUP]} if n[OTHER_SETUP] else {}),
            **(tested if any(tested.values()) else {})}


def headline_metrics(sections: dict[str, Section]) -> dict[str, Any]:
    """reports/metrics.json: the counts of every experiment with claims and of all of them, and each
    experiment's headline claims' measured values (a few numbers that fit a terminal)."""
    out: dict[str, Any] = {"all": verdict_counts([v for s in sections.values() for v in s.verdicts], directions=False)}
    for name, section in sections.items():
        if not section.verdicts:
            continue
        measured = {v.claim.key: v.metrics()["measured"] for v in section.verdicts}
        out[name] = {**verdict_counts(section.verdicts, directions=False),
                     **{key: measured[key] for key in section.headline if key in measured}}
    return out


def ledger_entry(verdict: Verdict) -> dict[str, Any]:
    """One claim of claims.json: the quote and source that identify it, the paper's value and unit, and the
    measured value, tolerance and verdict (1/0/null in ``holds``)."""
    claim = verdict.claim
    return {"quote": claim.quote, "source": claim.source, "unit": claim.unit, "kind": claim.kind,
            **verdict.metrics()}


def claims_ledger(sections: dict[str, Section]) -> dict[str, Any]:
    """reports/claims.json: per experiment, every claim by its id, and the per-run numbers a page reports
    beside its claims (``runs``, where it has them)."""
    out: dict[str, Any] = {}
    for name, section in sections.items():
        entry: dict[str, Any] = {"claims": {v.claim.key: ledger_entry(v) for v in section.verdicts}}
        if section.runs:
            entry["runs"] = section.runs
        out[name] = entry
    return out
