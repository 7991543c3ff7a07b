"""Double descent and lottery tickets: the open question of seed 002 (its Belkin et al. section asks whether
winning tickets are sub-networks that work in the classical regime, "equivalent" to their over-parameterised
counterparts, and whether the change in loss tells the regime).

``dense``: one-hidden-layer ReLU nets on the first ``train_examples`` MNIST training images, with a fraction of
their labels replaced by a random other class (``label_noise``), at widths below and above the interpolation
threshold (parameters = training examples x classes); every net trains all ``iterations`` without early
stopping (Belkin et al. 2019; Nakkiran et al. 2020, model-wise double descent). Each (noise, width) is one
population of ``trials`` members; with ``one_population`` every width of a noise level is one population of the
widest nets with the units past each member's width masked (same results up to float rounding, tested; slower
on a CPU, where masked units still cost their products: docs/measurements.md). The training and test losses
are recorded along the way.

``tickets``: IMP with rewinding to init of the nets of ``ticket_widths`` at ``ticket_noise``, with random
reinit, every level trained like the dense nets: their (remaining parameters, test error) points go on the dense
curve's axes, and their test error against Pm is the sparsity-wise curve (He et al. 2022, sparse double
descent). A ticket net's dense level is the dense curve's net of its width: same init, labels and batches.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

import torch

from lth.config import ConfigError, setting
from lth.core.engine import TrainJob, evaluate
from lth.core.models import PopulationMLP
from lth.core.processes import train_in_processes, worker_count
from lth.data import DeviceData, Split
from lth.shared.driver import StudyDriver, study_fingerprint
from lth.shared.groups import (InitGroup, NumericsGroup, OptimizerGroup, ScheduleGroup, TrainingGroups,
                               TrialsGroup, paper_default)
from lth.shared.lenet import MNIST_CLASSES, MNIST_INPUTS
from lth.shared.lottery import Lottery
from lth.shared.members import derive_seed
from lth.shared.population import ticket_init
from lth.shared.settings import check_batches_fit, check_schedule
from lth.shared.stage import NUMERICS, Compute, write_results, write_timing
from lth.shared.subsets import first_examples
from lth.stage_run import StageRun


@dataclass(frozen=True)
class DoubleDescentConfig(TrainingGroups, InitGroup, OptimizerGroup, ScheduleGroup, TrialsGroup, NumericsGroup):
    """One-hidden-layer nets on an MNIST subset with label noise, trained to the end (no early stopping), and
    IMP tickets of some of them. No paper fixes these values: they follow Belkin et al.'s MNIST setup (4,000
    images, one hidden layer) with Adam as the final LTH paper trains LeNet."""
    lr: float = paper_default(OptimizerGroup, "lr", 1e-3)
    batch_size: int = paper_default(ScheduleGroup, "batch_size", 128)
    iterations: int = paper_default(ScheduleGroup, "iterations", 8000)
    eval_every: int = paper_default(ScheduleGroup, "eval_every", 200)
    trials: int = paper_default(TrialsGroup, "trials", 3)
    train_examples: int = setting(4000, "train on the first N images of the training split (the interpolation "
                                  "threshold is N x 10 parameters; 0 = all of it)", min=0)
    label_noise: list[float] = setting([0.0, 0.2], "fractions of the training labels replaced by a random other "
                                       "class (one dense curve each)", min=0, max=1, max_exclusive=True)
    widths: list[int] = setting([4, 8, 16, 32, 48, 64, 96, 128, 256, 512], "hidden widths of the dense curve",
                                min=1)
    ticket_widths: list[int] = setting([48, 512], "widths whose IMP tickets go on the curve (each one of widths)",
                                       min=1, allow_empty=True)
    ticket_noise: float = setting(0.2, "label noise of the ticket runs (one of label_noise)", min=0, max=1,
                                  max_exclusive=True)
    hidden_rate: float = setting(0.5, "fraction of the hidden layer's surviving weights pruned per IMP round",
                                 min=0, max=1, min_exclusive=True, max_exclusive=True)
    output_rate: float = setting(0.25, "fraction of the output layer's surviving weights pruned per IMP round",
                                 min=0, max=1, max_exclusive=True)
    rounds: int = setting(7, "IMP rounds after the dense level", min=0)
    reinit_per_ticket: int = setting(1, "random-reinitialisation controls per ticket", min=0)
    validation_examples: int = setting(1000, "validation images evaluated along each training (recorded, never "
                                       "used to stop; 0 = all)", min=0)
    curve_examples: int = setting(2000, "test images of the recorded loss curves (errors at the end use the "
                                  "whole test set; 0 = all)", min=0)
    one_population: bool = setting(False, "train every width of a noise level as one population of the widest "
                                   "nets with the extra units masked, each member drawn with its own width's init "
                                   "(same results up to float rounding; slower on a CPU, where masked units still "
                                   "cost their products)")

    @property
    def curve_rounds(self) -> list[int]:
        """IMP rounds whose test curves the lottery records: none (the dense curve records them)."""
        return []

    def check(self, prefix: str) -> None:
        """The schedule fits the training; the ticket widths and noise are among the dense curve's."""
        check_schedule(prefix, self.iterations, eval_every=self.eval_every, patience=self.patience)
        if self.patience:
            raise ConfigError(f"params.yaml: {prefix}.patience = {self.patience}: must be 0 (double descent is "
                              "measured at the end of training, without early stopping)")
        missing = [w for w in self.ticket_widths if w not in self.widths]
        if missing:
            raise ConfigError(f"params.yaml: {prefix}.ticket_widths = {self.ticket_widths}: width {missing[0]} "
                              f"is not one of {prefix}.widths {self.widths}")
        if self.ticket_widths and self.ticket_noise not in self.label_noise:
            raise ConfigError(f"params.yaml: {prefix}.ticket_noise = {self.ticket_noise}: must be one of "
                              f"{prefix}.label_noise {self.label_noise}")


def one_hidden_net(width: int) -> PopulationMLP:
    """The 784-``width``-10 ReLU net."""
    return PopulationMLP((MNIST_INPUTS, width, MNIST_CLASSES), "relu")


def parameter_count(width: int) -> int:
    """Weights and biases of the 784-``width``-10 net."""
    return (MNIST_INPUTS + 1) * width + (width + 1) * MNIST_CLASSES


def noisy_labels(labels: torch.Tensor, fraction: float, seed: int, classes: int = MNIST_CLASSES) -> torch.Tensor:
    """``labels`` with round(``fraction`` x N) of them, chosen at random, moved to a random other class (one draw
    per fraction and seed, the same for every trial and width)."""
    generator = torch.Generator().manual_seed(derive_seed(seed, "label_noise", fraction))
    count = round(fraction * len(labels))
    chosen = torch.randperm(len(labels), generator=generator)[:count]
    shift = torch.randint(1, classes, (count,), generator=generator)
    out = labels.cpu().clone()
    out[chosen] = (out[chosen] + shift) % classes
    return out.to(labels.device)


def study_data(config: DoubleDescentConfig, data: DeviceData, noise: float) -> DeviceData:
    """The training subset with ``noise`` of its labels flipped, the first validation images and the test set."""
    train = first_examples(data.train, config.train_examples, "double_descent.train_examples", "training")
    validation = first_examples(data.validation, config.validation_examples,
                                "double_descent.validation_examples", "validation")
    check_batches_fit("double_descent", config.batch_size, len(train))
    return DeviceData(Split(train.x, noisy_labels(train.y, noise, config.seed)), validation, data.test,
                      data.source_sha256)


def threshold(config: DoubleDescentConfig, data: DeviceData) -> int:
    """The interpolation threshold the study assumes: training examples x classes parameters."""
    return (config.train_examples or len(data.train)) * MNIST_CLASSES


def batch_seeds(config: DoubleDescentConfig) -> list[int]:
    """The members' batch orders: those of the IMP lottery's dense level, so a ticket width's dense level is the
    dense curve's net of that width."""
    return [derive_seed(config.seed, "data", "imp", 0, k) for k in range(config.trials)]


def rounded(values: torch.Tensor, digits: int = 5) -> list[float]:
    """A tensor's values as a list of floats rounded for the JSON."""
    return [round(float(v), digits) for v in values.flatten().tolist()]


def _train_population(config: DoubleDescentConfig, data: DeviceData, model: PopulationMLP,
                      init: dict[str, torch.Tensor], masks: dict[str, torch.Tensor], seeds: list[int],
                      device: torch.device, curve_test: Split, progress: str | None) -> tuple[Any, torch.Tensor,
                                                                                              torch.Tensor]:
    """Members of ``model`` from ``init`` trained all ``iterations`` on their ``seeds``' batches: the training
    result and every member's test loss and accuracy on the whole test set."""
    job = TrainJob(model, init, masks, config.to_train_settings(), data.train, seeds,
                   {"train": data.train, "test": curve_test}, progress=progress)
    result = train_in_processes(job, len(seeds), worker_count(device, len(seeds)))
    test_loss, test_accuracy = evaluate(model, result.params, data.test)
    return result, test_loss, test_accuracy


def _point(width: int, members: slice, result: Any, test_loss: torch.Tensor,
           test_accuracy: torch.Tensor) -> dict[str, Any]:
    """The curve's point of ``width`` from its ``members`` of a trained population: final training error and
    loss (noisy labels), test error and loss, and the training / test loss and error curves."""
    train = {kind: values[members] for kind, values in result.curves["train"].items()}
    curves = {f"{split}_{kind}": [rounded(row) for row in (result.curves[split]["loss"][members] if kind == "loss"
                                                          else 100 * (1 - result.curves[split]["accuracy"][members]))]
              for split in ("train", "test") for kind in ("loss", "error")}
    return {"width": width, "parameters": parameter_count(width),
            "train_error": rounded(100 * (1 - train["accuracy"][:, -1])), "train_loss": rounded(train["loss"][:, -1]),
            "test_error": rounded(100 * (1 - test_accuracy[members])), "test_loss": rounded(test_loss[members]),
            "curves": {"iterations": list(result.eval_iterations), **curves}}


def dense_point(config: DoubleDescentConfig, data: DeviceData, width: int, device: torch.device,
                curve_test: Split, progress: bool) -> dict[str, Any]:
    """``trials`` nets of ``width`` trained all ``iterations`` on ``data`` (noisy labels): the curve's point
    (``_point``; test curves on ``curve_test``)."""
    model = one_hidden_net(width)
    _, init = ticket_init(model, config, device)
    trained = _train_population(config, data, model, init, {}, batch_seeds(config), device, curve_test,
                                f"double descent width {width}" if progress else None)
    return _point(width, slice(None), *trained)


# the hidden units' axis of each tensor of a 784-w-10 population (member axis first; the output bias has none)
UNIT_AXES = {"fc0.weight": 1, "fc0.bias": 1, "fc1.weight": 2}


def widened(init: dict[str, torch.Tensor], wide: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """A 784-w-10 population's weights inside 784-``wide``-10 nets (zeros past unit w) and the weight masks that
    keep the extra units' weights at zero (their biases stay 0 too: a unit with no input has ReLU gradient 0)."""
    width = init["fc0.bias"].shape[1]
    params, masks = {}, {}
    for name, value in init.items():
        shape, units = list(value.shape), [slice(None)] * value.dim()
        if name in UNIT_AXES:
            shape[UNIT_AXES[name]], units[UNIT_AXES[name]] = wide, slice(0, width)
        params[name] = value.new_zeros(shape)
        params[name][tuple(units)] = value
        if name.endswith("weight"):
            masks[name] = torch.zeros(shape, dtype=torch.bool, device=value.device)
            masks[name][tuple(units)] = True
    return params, masks


def masked_widths(config: DoubleDescentConfig, data: DeviceData, device: torch.device, curve_test: Split,
                  progress: bool) -> list[dict[str, Any]]:
    """Every width of ``config.widths`` as one population of the widest nets, units past a member's width
    masked, each member drawn with its own width's init and trained on its trial's batches: ``dense_point``'s
    points for each width, up to float rounding."""
    wide = max(config.widths)
    parts = [widened(ticket_init(one_hidden_net(width), config, device)[1], wide) for width in config.widths]
    init = {name: torch.cat([params[name] for params, _ in parts]) for name in parts[0][0]}
    masks = {name: torch.cat([mask[name] for _, mask in parts]) for name in parts[0][1]}
    trained = _train_population(config, data, one_hidden_net(wide), init, masks,
                                batch_seeds(config) * len(config.widths), device, curve_test,
                                f"double descent widths {config.widths}" if progress else None)
    trials = config.trials
    return [_point(width, slice(i * trials, (i + 1) * trials), *trained) for i, width in enumerate(config.widths)]


def dense_curves(config: DoubleDescentConfig, data: DeviceData, device: torch.device, driver: StudyDriver,
                 progress: bool = True) -> list[dict[str, Any]]:
    """Every (label noise, width) point of the dense curve, one driver step each (a killed run resumes at the
    first unfinished point): [{noise, points: [dense_point ...]}] in the config's order."""
    curve_test = first_examples(data.test, config.curve_examples, "double_descent.curve_examples", "test")

    def step(noise: float, width: int, state: dict[str, Any]) -> None:
        state["points"][f"{noise}/{width}"] = dense_point(config, study_data(config, data, noise), width, device,
                                                          curve_test, progress)

    def widths_step(noise: float, state: dict[str, Any]) -> None:
        points = masked_widths(config, study_data(config, data, noise), device, curve_test, progress)
        state["points"].update({f"{noise}/{point['width']}": point for point in points})

    driver.start(lambda: {"points": {}})
    steps = ([(f"noise {noise} widths as one population", functools.partial(widths_step, noise))
              for noise in config.label_noise] if config.one_population else
             [(f"noise {noise} width {width}", functools.partial(step, noise, width))
              for noise in config.label_noise for width in config.widths])
    points = driver.run(steps, unit="nets")["points"]
    return [{"noise": noise, "points": [points[f"{noise}/{width}"] for width in config.widths]}
            for noise in config.label_noise]


def ticket_lottery(config: DoubleDescentConfig, data: DeviceData, width: int, device: torch.device,
                   checkpoint: Any, progress: bool = True) -> Lottery:
    """IMP with rewinding to init of the 784-``width``-10 net on ``data`` (the ticket noise's labels), with
    ``reinit_per_ticket`` random reinits per level; every member trains all ``iterations``."""
    model = one_hidden_net(width)
    names = model.layer_names
    rates = {names[0]: config.hidden_rate, names[1]: config.output_rate}
    return Lottery(config, model, names, rates, config.rounds, config.to_train_settings(), data, device, checkpoint,
                   progress, label=f"double descent tickets width {width}", split_over_processes=True)


def ticket_levels(results: dict[str, Any], width: int) -> list[dict[str, Any]]:
    """A lottery's levels as the curve's points: per IMP round the tickets' and reinits' Pm, remaining
    parameters (surviving weights plus the unpruned biases) and test error at the end of training."""
    weights = sum(results["weights"].values())
    biases = parameter_count(width) - weights
    levels = []
    for record in results["rounds"]:
        level = {"round": record["round"]}
        for role in ("ticket", "reinit"):
            if role in record:
                pm = record[role]["pm"]
                level[role] = {"pm": pm, "parameters": [round(p * weights) + biases for p in pm],
                               "test_error": [round(100 * (1 - a), 4) for a in record[role]["final_accuracy"]]}
        levels.append(level)
    return levels


def stage_dense(run: StageRun, loaded: Any, compute: Compute, data: DeviceData) -> str:
    """The dense curves: results/double_descent/dense.json and its timing file."""
    config, out, start = loaded.config, run.results / "double_descent", time.perf_counter()
    checkpoint = run.checkpoints / "double_descent" / "dense.pt"
    driver = StudyDriver(checkpoint, study_fingerprint(config, data), "double descent", compute.device)
    curves = dense_curves(config, data, compute.device, driver)
    write_results(out / "dense.json", loaded, compute, threshold_parameters=threshold(config, data), curves=curves)
    write_timing(out / "dense_timing.json", start, compute.device)
    checkpoint.unlink(missing_ok=True)
    return f"{len(config.label_noise)} noise levels x {len(config.widths)} widths, {config.trials} trials"


def stage_tickets(run: StageRun, loaded: Any, compute: Compute, data: DeviceData) -> str:
    """The ticket runs: results/double_descent/tickets.json and its timing file."""
    config, out, start = loaded.config, run.results / "double_descent", time.perf_counter()
    noisy = study_data(config, data, config.ticket_noise)
    runs = []
    for width in config.ticket_widths:
        checkpoint = run.checkpoints / "double_descent" / f"tickets_{width}.pt"
        results = ticket_lottery(config, noisy, width, compute.device, checkpoint).run()
        runs.append({"width": width, "parameters": parameter_count(width), "levels": ticket_levels(results, width)})
        checkpoint.unlink(missing_ok=True)
    write_results(out / "tickets.json", loaded, compute, threshold_parameters=threshold(config, data),
                  noise=config.ticket_noise, runs=runs)
    write_timing(out / "tickets_timing.json", start, compute.device)
    return f"tickets of widths {config.ticket_widths} at label noise {config.ticket_noise}, {config.trials} trials"


SECTIONS = {"double_descent": DoubleDescentConfig, **NUMERICS}
ITEMS = (("part", ("dense", "tickets"), "the dense curves, or the IMP tickets placed on them"),)
PARTS = {"dense": stage_dense, "tickets": stage_tickets}


def stage(run: StageRun) -> str:
    """One part (``double_descent dense`` or ``double_descent tickets``); resumes from checkpoints/double_descent/
    after a kill."""
    part, = run.items
    loaded = run.section("double_descent", DoubleDescentConfig)
    compute = Compute.pick(run)
    return PARTS[part](run, loaded, compute, compute.load(run, "mnist"))
