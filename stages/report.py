"""DVC stage: regenerate reports/report.md, reports/figures/*.png and reports/metrics.json from results/."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lth.cli import run_stage, stage_parser  # noqa: E402
from lth.io import write_json_atomic  # noqa: E402
from lth.provenance import code_commit  # noqa: E402
from lth.report.assemble import build_report  # noqa: E402


def main() -> None:
    """Rebuild the report from the results files (no training, no torch), for the ``report`` DVC stage."""
    parser = stage_parser(__doc__)
    parser.add_argument("--results", default="results", help="results folder to read")
    parser.add_argument("--out", default="reports", help="report folder to write")
    args = parser.parse_args()

    def body() -> str:
        """Write the report and metrics.json; return the stage's one-line summary."""
        metrics = build_report(Path(args.results), Path(args.out), code_commit())
        write_json_atomic(Path(args.out) / "metrics.json", metrics)
        count = sum(len(m) for m in metrics.values())
        return f"wrote {args.out}/report.md with {count} paper-vs-measured numbers"

    run_stage("report", body)


if __name__ == "__main__":
    main()
