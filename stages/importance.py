"""DVC stage: layerwise importance (Vandersmissen & Oramas) on each net of `importance.nets` (LeNet-300-100 on
MNIST, Conv-2/4/6 on CIFAR-10): IMP with global pruning by importance values that depend on the other weights
of the same layer, next to global magnitude, and the overlap (intersection over union) of their tickets.

Reads params `profile` and `importance`, data/mnist.pt and data/cifar10.pt; writes results/importance/<net>.json
and results/importance/<net>_timing.json for each net. Progress is saved after every round in
checkpoints/importance/ (not a DVC output): a killed run resumes where it stopped.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lth.cli import run_stage, stage_parser  # noqa: E402
from lth.config import load_section  # noqa: E402
from lth.experiments.importance import ImportanceConfig, ImportanceLottery  # noqa: E402
from lth.experiments.study_nets import run_study  # noqa: E402


def main() -> None:
    parser = stage_parser(__doc__)
    args = parser.parse_args()

    def body() -> str:
        loaded = load_section(args.params, "importance", ImportanceConfig)
        return run_study("importance", loaded, lambda data, device, checkpoint, net: ImportanceLottery(
            loaded.config, data, device, checkpoint, net=net), lambda r: f"{len(r['rounds'])} rounds")

    run_stage("importance", body)


if __name__ == "__main__":
    main()
