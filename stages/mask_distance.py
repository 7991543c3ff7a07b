"""DVC stage: when the unstructured tickets' masks settle. Dense LeNet-300-100 (MNIST) and Conv-2 (CIFAR-10)
trainings, recorded along the way: the normalised Hamming distance between the magnitude mask at iteration t
and the one at the end, per pruning level; and the distance between the ticket masks of consecutive IMP
rounds of the `mnist_v1` run (where the rule "stop when consecutive tickets differ by less than 10%" stops).

Reads params `profile` and `mask_distance`, data/mnist.pt, data/cifar10.pt and artifacts/mnist_v1/tickets.pt;
writes results/mask_distance/distances.json and results/mask_distance/timing.json. It trains for about a
minute at `quick` and keeps no checkpoint (a killed run starts over).
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
from lth.errors import DataError  # noqa: E402
from lth.experiments.mask_distance import MaskDistanceConfig, conv2_run, imp_distances, lenet_run  # noqa: E402
from lth.host import host_record  # noqa: E402
from lth.io import write_json_atomic  # noqa: E402

OUT = Path("results/mask_distance")


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--mnist", default="data/mnist.pt", help="prepared MNIST (from the data stage)")
    parser.add_argument("--cifar", default="data/cifar10.pt", help="prepared CIFAR-10 (from the data stage)")
    parser.add_argument("--tickets", default="artifacts/mnist_v1/tickets.pt", help="the mnist_v1 stage's masks")
    args = parser.parse_args()

    def body() -> str:
        loaded = load_section(args.params, "mask_distance", MaskDistanceConfig)
        config = loaded.config
        device = pick_device()
        numerics = configure_numerics(device)
        if not Path(args.tickets).exists():
            raise DataError(f"{args.tickets}: missing; run the mnist_v1 stage first (dvc repro mnist_v1)")
        start = time.perf_counter()
        imp = imp_distances(Path(args.tickets))
        lenet = lenet_run(config, load_prepared(Path(args.mnist), device, flatten=True), device, True)
        conv2 = conv2_run(config, load_prepared(Path(args.cifar), device, flatten=False), device, True)
        write_json_atomic(OUT / "distances.json", {"profile": loaded.profile, "config": as_dict(config),
                                                   "environment": environment_record(device, numerics),
                                                   "lenet": lenet, "conv2": conv2, "imp_mnist_v1": imp})
        write_json_atomic(OUT / "timing.json", {"total_s": round(time.perf_counter() - start, 1),
                                                "threads": torch.get_num_threads(), "device": device.type,
                                                "host": host_record()})
        return f"{len(lenet['iterations'])} LeNet and {len(conv2['iterations'])} Conv-2 points, {config.trials} trials"

    run_stage("mask_distance", body)


if __name__ == "__main__":
    main()
