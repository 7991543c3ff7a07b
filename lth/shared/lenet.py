"""LeNet on MNIST as every LeNet lottery trains it (the ``mnist`` run, v1's run and sweeps, the mask studies):
the schedule, the network, its per-layer pruning rates, and the lottery with every control."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from lth.config import setting
from lth.core.models import PopulationMLP
from lth.data import DeviceData
from lth.shared.groups import (InitGroup, NumericsGroup, OptimizerGroup, ScheduleGroup, SparseProductsGroup,
                               TrainingGroups, TrialsGroup)
from lth.shared.lottery import Lottery, rounds_needed
from lth.shared.settings import check_batches_fit, check_rounds, check_schedule

MNIST_INPUTS, MNIST_CLASSES = 28 * 28, 10


@dataclass(frozen=True)
class LenetSchedule(TrainingGroups, InitGroup, OptimizerGroup, ScheduleGroup, TrialsGroup, NumericsGroup,
                    SparseProductsGroup):
    """What every LeNet lottery on MNIST shares (the ``mnist`` run, v1's run, v1's sweeps, the mask studies): the
    network, its init and optimizer, the training schedule, trials and seed, and the IMP pruning rates."""
    hidden_sizes: list[int] = setting([300, 100], "hidden layer widths", min=1)
    hidden_rate: float = setting(0.2, "fraction of each hidden layer's surviving weights pruned per round",
                                 min=0, max=1, min_exclusive=True, max_exclusive=True)
    output_rate: float = setting(0.1, "fraction of the output layer's surviving weights pruned per round",
                                 min=0, max=1, max_exclusive=True)
    min_remaining: float = setting(0.018, "iterative pruning continues until Pm <= this", min=0, max=1,
                                   min_exclusive=True, max_exclusive=True)

    def check(self, prefix: str) -> None:
        """The schedule fits the training."""
        check_schedule(prefix, self.iterations, eval_every=self.eval_every, patience=self.patience)


@dataclass(frozen=True)
class MnistConfig(LenetSchedule):
    """LeNet-300-100 on MNIST (Frankle & Carbin 2019, Figures 1, 3, 4; v1 Sections 3, 4, 6)."""
    one_shot_rounds: list[int] = setting([1, 2, 3, 4, 5, 7, 9, 11, 13, 15, 17],
                                         "one-shot levels, as the iterative round whose Pm they match", min=1)
    reinit_per_ticket: int = setting(3, "random-reinitialisation controls per ticket", min=0)
    rewire_per_ticket: int = setting(1, "random-rewiring controls per ticket", min=0)
    random_mask_per_ticket: int = setting(1, "random-sparse-mask controls per ticket", min=0)
    extra_controls_every: int = setting(1, "the rewiring and random-mask controls train at IMP rounds 1, 1+n, "
                                        "1+2n, ... (1 = every round; the random reinit trains every round)", min=1)
    han_baseline: bool = setting(True, "train Han et al.'s prune-and-continue baseline (no rewind)")
    curve_rounds: list[int] = setting([0, 3, 7, 12, 15, 18], "rounds whose test-accuracy curves are recorded "
                                      "(Pm 100, 51.3, 21.1, 7.0, 3.6, 1.9%)", min=0)

    def check(self, prefix: str) -> None:
        """The schedule fits the training, and the curve and one-shot rounds exist in this pruning schedule."""
        super().check(prefix)
        last = imp_rounds(self)
        check_rounds(prefix, "curve_rounds", self.curve_rounds, last)
        check_rounds(prefix, "one_shot_rounds", self.one_shot_rounds, last)


def layer_rates(config: MnistConfig, names: list[str]) -> dict[str, float]:
    """Per-round pruning rate of each layer: hidden layers at ``hidden_rate``, the output layer at ``output_rate``."""
    return {name: (config.output_rate if name == names[-1] else config.hidden_rate) for name in names}


def lenet(config: MnistConfig, inputs: int = MNIST_INPUTS) -> PopulationMLP:
    """The config's LeNet (ReLU MLP inputs-hidden...-10)."""
    return PopulationMLP((inputs, *config.hidden_sizes, MNIST_CLASSES), "relu")


def imp_rounds(config: MnistConfig, inputs: int = MNIST_INPUTS) -> int:
    """The last IMP round: the first whose overall Pm is at most ``min_remaining``."""
    model = lenet(config, inputs)
    rates = layer_rates(config, model.layer_names)
    sizes = {name: fan_in * fan_out
             for name, fan_in, fan_out in zip(model.layer_names, model.sizes[:-1], model.sizes[1:])}
    return rounds_needed(sizes, rates, config.min_remaining)


class MnistLottery(Lottery):
    """All MNIST LeNet experiments of one config: IMP rounds with controls, one-shot levels, Han baseline."""

    def __init__(self, config: MnistConfig, data: DeviceData, device: torch.device, checkpoint: Path,
                 progress: bool = True):
        check_batches_fit("mnist", config.batch_size, len(data.train))
        inputs = data.train.x.shape[1]
        model = lenet(config, inputs)
        super().__init__(config, model, model.layer_names, layer_rates(config, model.layer_names),
                         imp_rounds(config, inputs), config.to_train_settings(), data, device, checkpoint,
                         progress,
                         label="mnist lenet", split_over_processes=True)
