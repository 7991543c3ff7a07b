"""DVC stage: layerwise importance (Vandersmissen & Oramas) on LeNet-300-100 (MNIST): IMP with global pruning
by importance values that depend on the other weights of the same layer, next to global magnitude, and the
overlap (intersection over union) of the tickets they find.

Reads params `profile` and `importance` and data/mnist.pt; writes results/importance/lenet.json and
results/importance/timing.json. Progress is saved after every round in checkpoints/importance/ (not a DVC
output): a killed run resumes where it stopped.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lth.cli import run_stage, stage_parser  # noqa: E402
from lth.config import as_dict, load_section  # noqa: E402
from lth.experiments.importance import ImportanceConfig, ImportanceLottery  # noqa: E402
from lth.experiments.stage import run_lottery_stage  # noqa: E402

OUT = Path("results/importance")
CHECKPOINT = Path("checkpoints/importance/lenet.pt")


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--data", default="data/mnist.pt", help="prepared dataset (from the data stage)")
    args = parser.parse_args()

    def body() -> str:
        loaded = load_section(args.params, "importance", ImportanceConfig)
        config = loaded.config
        results = run_lottery_stage(lambda data, device: ImportanceLottery(config, data, device, CHECKPOINT),
                                    Path(args.data), True, OUT / "lenet.json", OUT / "timing.json", CHECKPOINT,
                                    lambda lottery: {"profile": loaded.profile, "config": as_dict(config)})
        last = results["rounds"][-1][config.metrics[0]]["pm"][0] if len(results["rounds"]) > 1 else 1.0
        return (f"{len(config.metrics)} metrics, {len(results['rounds'])} rounds down to Pm {100 * last:.1f}%, "
                f"{config.trials} trials")

    run_stage("importance", body)


if __name__ == "__main__":
    main()
