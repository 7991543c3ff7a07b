"""DVC stage: MNIST LeNet-300-100 lottery tickets: iterative pruning with rewinding, one-shot pruning,
random-reinit / random-rewiring / random-mask controls and Han et al.'s prune-and-continue baseline.

Reads params `profile` and `mnist` and data/mnist.pt; writes results/mnist/lenet.json and
results/mnist/timing.json. Progress is saved after every pruning round (and every 10 minutes within one) in
checkpoints/mnist/ (not a DVC output): a killed run resumes where it stopped.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lth.cli import run_stage, stage_parser  # noqa: E402
from lth.config import as_dict, load_section  # noqa: E402
from lth.experiments.mnist import MnistConfig, MnistLottery  # noqa: E402
from lth.experiments.stage import run_lottery_stage  # noqa: E402

OUT = Path("results/mnist")
CHECKPOINT = Path("checkpoints/mnist/lenet.pt")


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--data", default="data/mnist.pt", help="prepared dataset (from the data stage)")
    args = parser.parse_args()

    def body() -> str:
        loaded = load_section(args.params, "mnist", MnistConfig)
        config = loaded.config
        results = run_lottery_stage(lambda data, device: MnistLottery(config, data, device, CHECKPOINT),
                                    Path(args.data), True, OUT / "lenet.json", OUT / "timing.json", CHECKPOINT,
                                    lambda lottery: {"profile": loaded.profile, "config": as_dict(config)})
        last = results["rounds"][-1]["ticket"]
        return (f"{len(results['rounds'])} IMP levels down to Pm {100 * last['pm'][0]:.1f}%, "
                f"{len(results['one_shot'])} one-shot levels, {config.trials} trials")

    run_stage("mnist", body)


if __name__ == "__main__":
    main()
