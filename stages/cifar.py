"""DVC stage: CIFAR-10 lottery tickets for one network and variant (final paper Figs. 5-8).

    python stages/cifar.py conv2 plain        # Conv-2, no dropout
    python stages/cifar.py vgg19 warmup       # VGG-19 with learning-rate warmup

Reads params `profile` and the network's section (its `variants` pick dropout / learning rate / warmup) and
data/cifar10.pt; writes results/cifar/<net>_<variant>.json and a timing file. Progress is saved after every
pruning round in checkpoints/cifar/ (not a DVC output): a killed run resumes where it stopped.
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from lth.cifar import CifarLottery  # noqa: E402
from lth.cli import run_stage, stage_parser  # noqa: E402
from lth.config import CIFAR_NETS, ConfigError, as_dict, load_params  # noqa: E402
from lth.data import DataError, load_prepared  # noqa: E402
from lth.runtime import environment_record, pick_device, write_json_atomic  # noqa: E402

OUT = Path("results/cifar")


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("net", choices=CIFAR_NETS, help="network (a params.yaml section)")
    parser.add_argument("variant", help="one of the section's variants (e.g. plain, dropout, low_lr, warmup)")
    parser.add_argument("--data", default="data/cifar10.pt", help="prepared dataset (from the data stage)")
    args = parser.parse_args()

    def body() -> str:
        params = load_params(args.params)
        variants = params[args.net]
        if args.variant not in variants:
            raise ConfigError(f"params.yaml: {args.net}.variants has no {args.variant!r}; defined: "
                              + ", ".join(variants))
        config = variants[args.variant]
        if not Path(args.data).exists():
            raise DataError(f"{args.data} not found: run `dvc repro data@cifar10` first")
        device = pick_device()
        data = load_prepared(Path(args.data), device, flatten=False)
        name = f"{args.net}_{args.variant}"
        checkpoint = Path("checkpoints/cifar") / f"{name}.pt"
        start = time.perf_counter()
        lottery = CifarLottery(config, data, device, checkpoint, label=f"cifar {name}")
        results = lottery.run()
        write_json_atomic(OUT / f"{name}.json", {
            "profile": params.profile, "net": args.net, "variant": args.variant, "config": as_dict(config),
            "parameters": lottery.model.parameter_count(), "environment": environment_record(device), **results})
        write_json_atomic(OUT / f"{name}_timing.json", {"total_s": round(time.perf_counter() - start, 1),
                                                         "threads": torch.get_num_threads(),
                                                         "device": device.type})
        checkpoint.unlink(missing_ok=True)
        last = results["rounds"][-1]["ticket"]
        return (f"{len(results['rounds'])} IMP levels down to Pm {100 * last['pm'][0]:.1f}%, "
                f"{config.trials} trials on {device.type}")

    run_stage(f"cifar {args.net} {args.variant}", body)


if __name__ == "__main__":
    main()
