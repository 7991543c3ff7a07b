"""The ``report`` stage: regenerate reports/report.md, reports/figures/*.png, reports/metrics.json (headline
numbers) and reports/claims.json (the full claims ledger) from results/ (no training, no torch)."""
from __future__ import annotations

from pathlib import Path

from lth.provenance import code_commit
from lth.report.assemble import write_report
from lth.stage_run import StageRun


def stage(run: StageRun) -> str:
    """Rebuild the report from the results files into reports/ (the runs' scale judged against the paper's
    settings in the run's params file); returns the stage's one-line summary."""
    return write_report(run.results, Path("reports"), code_commit(), run.params)
