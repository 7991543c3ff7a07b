"""MNIST LeNet-300-100 (final paper Figs. 1, 3, 4; v1 Sections 3, 4, 6): IMP rounds with random-reinit,
random-rewiring and random-mask controls, one-shot levels and Han et al.'s baseline, as the ``mnist`` stage."""
from __future__ import annotations

from lth.shared.lenet import MnistConfig, MnistLottery
from lth.shared.stage import NUMERICS, run_lottery_stage
from lth.stage_run import StageRun, config_record

SECTIONS = {"mnist": MnistConfig, **NUMERICS}


def stage(run: StageRun) -> str:
    """Train every IMP round with its controls and the one-shot levels; write results/mnist/lenet.json and its
    timing file. Progress is saved after every round (and every 10 minutes within one) in checkpoints/mnist/:
    a killed run resumes where it stopped."""
    loaded = run.section("mnist", MnistConfig)
    config, out = loaded.config, run.results / "mnist"
    checkpoint = run.checkpoints / "mnist" / "lenet.pt"
    results = run_lottery_stage(lambda data, device: MnistLottery(config, data, device, checkpoint), run, "mnist",
                                out / "lenet.json", out / "timing.json", checkpoint,
                                lambda lottery: config_record(loaded))
    last = results["rounds"][-1]["ticket"]
    return (f"{len(results['rounds'])} IMP levels down to Pm {100 * last['pm'][0]:.1f}%, "
            f"{len(results['one_shot'])} one-shot levels, {config.trials} trials")
