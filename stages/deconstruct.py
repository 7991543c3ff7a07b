"""DVC stage: Zhou et al. (2019), "Deconstructing Lottery Tickets", on each net of `deconstruct.nets`
(LeNet-300-100 on MNIST, Conv-2/4/6 on CIFAR-10): mask criteria, mask-1 and mask-0 actions at one-shot
levels, untrained supermasks and a learned supermask.

Reads params `profile` and `deconstruct`, data/mnist.pt and data/cifar10.pt; writes results/deconstruct/<net>.json
and results/deconstruct/<net>_timing.json for each net. Progress is saved after each step (dense training, the
variants, the frozen-weight variants, the supermasks) in checkpoints/deconstruct/ (not a DVC output): a killed
run resumes where it stopped.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lth.cli import run_stage, stage_parser  # noqa: E402
from lth.config import load_section  # noqa: E402
from lth.experiments.deconstruct import DeconstructConfig, DeconstructLottery  # noqa: E402
from lth.experiments.study_nets import run_study  # noqa: E402


def main() -> None:
    parser = stage_parser(__doc__)
    args = parser.parse_args()

    def body() -> str:
        loaded = load_section(args.params, "deconstruct", DeconstructConfig)
        return run_study("deconstruct", loaded, lambda data, device, checkpoint, net: DeconstructLottery(
            loaded.config, data, device, checkpoint, net=net), lambda r: f"{len(r['levels'][0]['variants'])} variants at {len(r['levels'])} levels")

    run_stage("deconstruct", body)


if __name__ == "__main__":
    main()
