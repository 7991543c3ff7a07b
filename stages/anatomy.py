"""DVC stage: the anatomy of winning tickets (arXiv 1803.03635v1 Section 5) from the `mnist_v1` run's kept
masks and initial weights: the distribution of the surviving weights' initial values per layer at several
pruning levels, and every unit's surviving incoming connections (sorted), with the units cut off. Trains
nothing (seconds).

Reads params `anatomy`, artifacts/mnist_v1/tickets.pt and results/mnist_v1/lenet.json (each round's Pm);
writes results/mnist_v1/anatomy.json.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lth.cli import run_stage, stage_parser  # noqa: E402
from lth.config import as_dict, load_section  # noqa: E402
from lth.errors import DataError  # noqa: E402
from lth.experiments.anatomy import AnatomyConfig, anatomy  # noqa: E402
from lth.experiments.ticket_file import read_tickets  # noqa: E402
from lth.io import write_json_atomic  # noqa: E402


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--tickets", default="artifacts/mnist_v1/tickets.pt", help="the mnist_v1 stage's tickets")
    parser.add_argument("--run", default="results/mnist_v1/lenet.json", help="the mnist_v1 stage's results")
    parser.add_argument("--out", default="results/mnist_v1/anatomy.json", help="where to write the statistics")
    args = parser.parse_args()

    def body() -> str:
        loaded = load_section(args.params, "anatomy", AnatomyConfig)
        for path in (args.tickets, args.run):
            if not Path(path).exists():
                raise DataError(f"{path}: missing; run the mnist_v1 stage first (dvc repro mnist_v1)")
        run = json.loads(Path(args.run).read_text())
        pm = [round(100 * r["ticket"]["pm"][0], 4) for r in run["rounds"]]
        result = anatomy(read_tickets(Path(args.tickets)), pm, loaded.config)
        write_json_atomic(Path(args.out), {"profile": run["profile"], "config": as_dict(loaded.config), **result})
        return (f"initialisations at {len(result['initialisations'])} levels, connectivity at "
                f"{len(result['connectivity'])} levels")

    run_stage("anatomy", body)


if __name__ == "__main__":
    main()
