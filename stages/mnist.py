"""DVC stage: MNIST LeNet-300-100 lottery tickets: iterative pruning with rewinding, one-shot pruning,
random-reinit / random-rewiring / random-mask controls and Han et al.'s prune-and-continue baseline.

Reads params `profile` and `mnist` and data/mnist.pt; writes results/mnist/lenet.json. Progress is saved
after every pruning round in checkpoints/mnist/ (not a DVC output): a killed run resumes where it stopped.
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from lth.cli import run_stage, stage_parser  # noqa: E402
from lth.config import as_dict, load_params  # noqa: E402
from lth.data import DataError, load_prepared  # noqa: E402
from lth.lottery import MnistLottery  # noqa: E402
from lth.runtime import environment_record, pick_device, write_json_atomic  # noqa: E402

OUT = Path("results/mnist")
CHECKPOINT = Path("checkpoints/mnist/lenet.pt")


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--data", default="data/mnist.pt", help="prepared dataset (from the data stage)")
    args = parser.parse_args()

    def body() -> str:
        params = load_params(args.params)
        config = params["mnist"]
        if not Path(args.data).exists():
            raise DataError(f"{args.data} not found: run `dvc repro data@mnist` first")
        device = pick_device()
        data = load_prepared(Path(args.data), device, flatten=True)
        start = time.perf_counter()
        lottery = MnistLottery(config, data, device, CHECKPOINT)
        results = lottery.run()
        write_json_atomic(OUT / "lenet.json", {"profile": params.profile, "config": as_dict(config),
                                               "environment": environment_record(device), **results})
        write_json_atomic(OUT / "timing.json", {"total_s": round(time.perf_counter() - start, 1),
                                                "threads": torch.get_num_threads()})
        CHECKPOINT.unlink(missing_ok=True)
        last = results["rounds"][-1]["ticket"]
        return (f"{len(results['rounds'])} IMP levels down to Pm {100 * last['pm'][0]:.1f}%, "
                f"{len(results['one_shot'])} one-shot levels, {config.trials} trials on {device.type}")

    run_stage("mnist", body)


if __name__ == "__main__":
    main()
