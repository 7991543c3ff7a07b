"""DVC stage: CIFAR-10 lottery tickets for one network and variant (final paper Figs. 5-8).

    python stages/cifar.py conv2 plain        # Conv-2, no dropout
    python stages/cifar.py vgg19 warmup       # VGG-19 with learning-rate warmup

Reads params `profile` and the network's section (its `variants` pick dropout / learning rate / warmup) and
data/cifar10.pt; writes results/cifar/<net>_<variant>.json and a timing file. Progress is saved after every
pruning round (and every 10 minutes within one) in checkpoints/cifar/ (not a DVC output): a killed run
resumes where it stopped.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lth.cli import run_stage, stage_parser  # noqa: E402
from lth.config import ConfigError, as_dict, load_section  # noqa: E402
from lth.experiments.cifar import CIFAR_NETS, CifarConfig, CifarLottery  # noqa: E402
from lth.experiments.stage import run_lottery_stage  # noqa: E402

OUT = Path("results/cifar")


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("net", choices=CIFAR_NETS, help="network (a params.yaml section)")
    parser.add_argument("variant", help="one of the section's variants (e.g. plain, dropout, low_lr, warmup)")
    parser.add_argument("--data", default="data/cifar10.pt", help="prepared dataset (from the data stage)")
    args = parser.parse_args()

    def body() -> str:
        loaded = load_section(args.params, args.net, CifarConfig, variants=True)
        if args.variant not in loaded.config:
            raise ConfigError(f"params.yaml: {args.net}.variants has no {args.variant!r}; defined: "
                              + ", ".join(loaded.config))
        config = loaded.config[args.variant]
        name = f"{args.net}_{args.variant}"
        checkpoint = Path("checkpoints/cifar") / f"{name}.pt"

        def make(data, device):
            return CifarLottery(config, data, device, checkpoint, label=f"cifar {name}", section=args.net)

        def record(lottery):
            return {"profile": loaded.profile, "net": args.net, "variant": args.variant, "config": as_dict(config),
                    "parameters": lottery.model.parameter_count()}

        results = run_lottery_stage(make, Path(args.data), False, OUT / f"{name}.json", OUT / f"{name}_timing.json",
                                    checkpoint, record)
        last = results["rounds"][-1]["ticket"]
        return f"{len(results['rounds'])} IMP levels down to Pm {100 * last['pm'][0]:.1f}%, {config.trials} trials"

    run_stage(f"cifar {args.net} {args.variant}", body)


if __name__ == "__main__":
    main()
