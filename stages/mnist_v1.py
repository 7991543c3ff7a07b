"""DVC stage: the first version's MNIST run (arXiv 1803.03635v1 Sections 3, 4, 6): LeNet-300-100 with
N(0, 0.1) weights and zero biases; IMP and one-shot pruning, each level with random-reinit and random-rewiring
controls; Han et al.'s continued training.

Reads params `profile` and `mnist_v1` and data/mnist.pt; writes results/mnist_v1/lenet.json,
results/mnist_v1/timing.json and artifacts/mnist_v1/tickets.pt (every trial's initial weights and every IMP
round's ticket masks as packed bits: the input of the anatomy stage). Progress is saved after every pruning
round in checkpoints/mnist_v1/ (not a DVC output): a killed run resumes where it stopped.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lth.cli import run_stage, stage_parser  # noqa: E402
from lth.config import as_dict, load_section  # noqa: E402
from lth.experiments.mnist_v1 import MnistV1Config, MnistV1Lottery  # noqa: E402
from lth.experiments.ticket_file import write_tickets  # noqa: E402
from lth.experiments.stage import run_lottery_stage  # noqa: E402

OUT = Path("results/mnist_v1")
TICKETS = Path("artifacts/mnist_v1/tickets.pt")
CHECKPOINT = Path("checkpoints/mnist_v1/lenet.pt")


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--data", default="data/mnist.pt", help="prepared dataset (from the data stage)")
    args = parser.parse_args()

    def body() -> str:
        loaded = load_section(args.params, "mnist_v1", MnistV1Config)
        config = loaded.config

        def record(lottery: MnistV1Lottery) -> dict:
            write_tickets(TICKETS, lottery.tickets())
            return {"profile": loaded.profile, "config": as_dict(config)}

        results = run_lottery_stage(lambda data, device: MnistV1Lottery(config, data, device, CHECKPOINT),
                                    Path(args.data), True, OUT / "lenet.json", OUT / "timing.json", CHECKPOINT,
                                    record)
        last = results["rounds"][-1]["ticket"]
        return (f"{len(results['rounds'])} IMP levels down to Pm {100 * last['pm'][0]:.1f}%, "
                f"{len(results['one_shot'])} one-shot levels with controls, {config.trials} trials")

    run_stage("mnist_v1", body)


if __name__ == "__main__":
    main()
