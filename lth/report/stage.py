"""The ``report`` stage: regenerate reports/report.md, reports/figures/*.png and reports/metrics.json from
results/ (no training, no torch)."""
from __future__ import annotations

from pathlib import Path

from lth.io import write_json_atomic
from lth.provenance import code_commit
from lth.report.assemble import build_report
from lth.stage_run import StageRun


def stage(run: StageRun) -> str:
    """Rebuild the report from the results files into reports/; returns the stage's one-line summary."""
    reports = Path("reports")
    metrics = build_report(run.results, reports, code_commit())
    write_json_atomic(reports / "metrics.json", metrics)
    return f"wrote {reports}/report.md with {sum(len(m) for m in metrics.values())} paper-vs-measured numbers"
