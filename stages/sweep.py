"""DVC stage: one of the first version's MNIST parameter sweeps (arXiv 1803.03635v1 Section 6), in its setup
(LeNet, N(0, sigma), Adam): `init_scale` (IMP at several init scales), `pruning_rate` (IMP at several rates
per round) or `network_size` (iterative and one-shot tickets of LeNets wider and narrower than 300-100).

Reads params `profile` and `sweep_<kind>` and data/mnist.pt; writes results/sweeps/<kind>.json and
results/sweeps/<kind>_timing.json. Progress is saved after every round in checkpoints/sweeps/ (not a DVC
output): a killed run resumes where it stopped.
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from lth.cli import run_stage, stage_parser  # noqa: E402
from lth.config import as_dict, load_section  # noqa: E402
from lth.data import load_prepared  # noqa: E402
from lth.device import configure_numerics, environment_record, pick_device  # noqa: E402
from lth.experiments.sweeps import (InitScaleConfig, NetworkSizeConfig, PruningRateConfig, SweepLottery,  # noqa: E402
                                    init_scale_settings, pruning_rate_settings, run_size_sweep)
from lth.host import host_record  # noqa: E402
from lth.io import write_json_atomic  # noqa: E402

SCHEMAS = {"init_scale": InitScaleConfig, "pruning_rate": PruningRateConfig, "network_size": NetworkSizeConfig}
SETTINGS = {"init_scale": init_scale_settings, "pruning_rate": pruning_rate_settings}
OUT = Path("results/sweeps")
CHECKPOINTS = Path("checkpoints/sweeps")


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("kind", choices=sorted(SCHEMAS), help="which sweep")
    parser.add_argument("--data", default="data/mnist.pt", help="prepared dataset (from the data stage)")
    args = parser.parse_args()

    def body() -> str:
        loaded = load_section(args.params, f"sweep_{args.kind}", SCHEMAS[args.kind])
        config = loaded.config
        device = pick_device()
        numerics = configure_numerics(device)
        data = load_prepared(Path(args.data), device, flatten=True)
        start = time.perf_counter()
        if args.kind == "network_size":
            results = run_size_sweep(config, data, device, CHECKPOINTS / args.kind)
            count = len(results["sizes"])
        else:
            checkpoint = CHECKPOINTS / f"{args.kind}.pt"
            lottery = SweepLottery(config, SETTINGS[args.kind], data, device, checkpoint, label=f"sweep {args.kind}")
            results = lottery.run()
            checkpoint.unlink(missing_ok=True)
            count = len(results["settings"])
        write_json_atomic(OUT / f"{args.kind}.json", {"profile": loaded.profile, "config": as_dict(config),
                                                      "environment": environment_record(device, numerics),
                                                      **results})
        write_json_atomic(OUT / f"{args.kind}_timing.json", {"total_s": round(time.perf_counter() - start, 1),
                                                             "threads": torch.get_num_threads(),
                                                             "device": device.type, "host": host_record()})
        return f"{count} settings, {config.trials} trials"

    run_stage(f"sweep_{args.kind}", body)


if __name__ == "__main__":
    main()
