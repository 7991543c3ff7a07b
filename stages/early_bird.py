"""DVC stage: early-bird tickets (You et al. 2019) on a VGG with batch norm (CIFAR-10): the search with network
slimming's L1 penalty, a channel mask per pruning ratio at the end of every epoch, the mask-distance rule that
draws the early-bird ticket, and the retraining of that ticket next to the one pruned after full training,
with the training FLOPs of each.

Reads params `profile` and `early_bird` and data/cifar10.pt; writes results/early_bird/vgg.json and
results/early_bird/timing.json. Progress is saved after the search and after the retraining in
checkpoints/early_bird/ (not a DVC output): a killed run resumes from the last finished step.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lth.cli import run_stage, stage_parser  # noqa: E402
from lth.config import as_dict, load_section  # noqa: E402
from lth.experiments.early_bird import EarlyBirdConfig, EarlyBirdStudy  # noqa: E402
from lth.experiments.stage import run_lottery_stage  # noqa: E402

OUT = Path("results/early_bird")
CHECKPOINT = Path("checkpoints/early_bird/vgg.pt")


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--data", default="data/cifar10.pt", help="prepared dataset (from the data stage)")
    args = parser.parse_args()

    def body() -> str:
        loaded = load_section(args.params, "early_bird", EarlyBirdConfig)
        config = loaded.config
        results = run_lottery_stage(lambda data, device: EarlyBirdStudy(config, data, device, CHECKPOINT),
                                    Path(args.data), False, OUT / "vgg.json", OUT / "timing.json", CHECKPOINT,
                                    lambda study: {"profile": loaded.profile, "config": as_dict(config)})
        birds = {ratio: r["early_bird_epoch"] for ratio, r in results["ratios"].items()}
        return f"early-bird epochs per ratio {birds} of {config.epochs}; {len(results['retrained'])} tickets retrained"

    run_stage("early_bird", body)


if __name__ == "__main__":
    main()
