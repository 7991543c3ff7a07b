"""DVC stage: late rewinding and linear mode connectivity for one network at learning rate 0.1 (`vgg19` or
`resnet20`): IMP whose survivors are rewound to iteration k, against random reinitialisation, and the
instability (error rise along the line between two copies trained on different batches) of the dense nets
and the tickets at every k.

Reads params `profile` and `rewinding_<net>` and data/cifar10.pt; writes results/rewinding/<net>.json and
results/rewinding/<net>_timing.json. Progress is saved after the dense run and after every IMP round in
checkpoints/rewinding/ (not a DVC output): a killed run resumes from the last finished step.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lth.cli import run_stage, stage_parser  # noqa: E402
from lth.config import as_dict, load_section  # noqa: E402
from lth.experiments.rewinding import RewindingConfig, RewindingStudy  # noqa: E402
from lth.experiments.stage import run_lottery_stage  # noqa: E402

NETS = ("vgg19", "resnet20")
OUT = Path("results/rewinding")


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("net", choices=NETS, help="which network")
    parser.add_argument("--data", default="data/cifar10.pt", help="prepared dataset (from the data stage)")
    args = parser.parse_args()

    def body() -> str:
        section = f"rewinding_{args.net}"
        loaded = load_section(args.params, section, RewindingConfig)
        config = loaded.config
        checkpoint = Path("checkpoints/rewinding") / f"{args.net}.pt"
        results = run_lottery_stage(
            lambda data, device: RewindingStudy(config, data, device, checkpoint, label=section),
            Path(args.data), False, OUT / f"{args.net}.json", OUT / f"{args.net}_timing.json", checkpoint,
            lambda study: {"profile": loaded.profile, "net": args.net, "config": as_dict(config)})
        return (f"{len(results['rounds'])} rounds, rewinding to {config.rewind_iterations}, dense accuracy "
                f"{results['dense_accuracy']}")

    run_stage(f"rewinding@{args.net}", body)


if __name__ == "__main__":
    main()
