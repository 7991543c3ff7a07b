"""The first version's MNIST run (arXiv 1803.03635v1, Sections 3, 4, 6) in its own setup, as the ``mnist_v1``
stage: IMP and one-shot levels, each with random-reinit and rewiring controls; the tickets kept for the
anatomy (packed bits)."""
from __future__ import annotations

from lth.shared.lenet_v1 import MnistV1Config, MnistV1Lottery
from lth.shared.stage import NUMERICS, run_lottery_stage
from lth.shared.ticket_file import write_tickets
from lth.stage_run import StageRun, config_record

SECTIONS = {"mnist_v1": MnistV1Config, **NUMERICS}


def stage(run: StageRun) -> str:
    """Train v1's lottery; write results/mnist_v1/lenet.json, its timing file and artifacts/mnist_v1/tickets.pt
    (resuming from checkpoints/mnist_v1/ after a kill)."""
    loaded = run.section("mnist_v1", MnistV1Config)
    config, out = loaded.config, run.results / "mnist_v1"
    checkpoint = run.checkpoints / "mnist_v1" / "lenet.pt"

    def record(lottery: MnistV1Lottery) -> dict:
        write_tickets(run.artifacts / "mnist_v1" / "tickets.pt", lottery.tickets())
        return config_record(loaded)

    results = run_lottery_stage(lambda data, device: MnistV1Lottery(config, data, device, checkpoint), run, "mnist",
                                out / "lenet.json", out / "timing.json", checkpoint, record)
    last = results["rounds"][-1]["ticket"]
    return (f"{len(results['rounds'])} IMP levels down to Pm {100 * last['pm'][0]:.1f}%, "
            f"{len(results['one_shot'])} one-shot levels with controls, {config.trials} trials")
