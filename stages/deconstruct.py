"""DVC stage: Zhou et al. (2019), "Deconstructing Lottery Tickets", on LeNet-300-100 (MNIST): mask criteria,
mask-1 and mask-0 actions at one-shot levels, untrained supermasks and a learned supermask.

Reads params `profile` and `deconstruct` and data/mnist.pt; writes results/deconstruct/lenet.json and
results/deconstruct/timing.json. Progress is saved after each step (dense training, the variants, the
frozen-weight variants, the supermasks) in checkpoints/deconstruct/ (not a DVC output): a killed run resumes
where it stopped.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lth.cli import run_stage, stage_parser  # noqa: E402
from lth.config import as_dict, load_section  # noqa: E402
from lth.experiments.deconstruct import DeconstructConfig, DeconstructLottery  # noqa: E402
from lth.experiments.stage import run_lottery_stage  # noqa: E402

OUT = Path("results/deconstruct")
CHECKPOINT = Path("checkpoints/deconstruct/lenet.pt")


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--data", default="data/mnist.pt", help="prepared dataset (from the data stage)")
    args = parser.parse_args()

    def body() -> str:
        loaded = load_section(args.params, "deconstruct", DeconstructConfig)
        config = loaded.config
        results = run_lottery_stage(lambda data, device: DeconstructLottery(config, data, device, CHECKPOINT),
                                    Path(args.data), True, OUT / "lenet.json", OUT / "timing.json", CHECKPOINT,
                                    lambda lottery: {"profile": loaded.profile, "config": as_dict(config)})
        variants = len(results["levels"][0]["variants"])
        return f"{variants} variants at {len(results['levels'])} levels, {config.trials} trials"

    run_stage("deconstruct", body)


if __name__ == "__main__":
    main()
