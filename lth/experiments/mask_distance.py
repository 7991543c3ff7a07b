"""When the unstructured tickets' masks settle (the early-bird question on the LTH's own lotteries): the
normalised Hamming distance between the magnitude mask drawn at iteration t of a dense training and the
one drawn at its end (LeNet-300-100 on MNIST, Conv-2 on CIFAR-10), and between the ticket masks of
consecutive IMP rounds (the ``mnist_v1`` run's kept masks), where the follow-ups post's rule "stop the IMP
search when consecutive tickets differ by less than 10%" would stop.

A mask at a level keeps, in one shot, what that many IMP rounds at the LTH's per-layer rates keep, by
|w| (the lottery's one-shot pruning). The distance is the fraction of all prunable weights on which two
masks differ.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lth.config import ConfigError, setting
from lth.core.convnets import make_convnet
from lth.core.engine import TrainJob, TrainSettings
from lth.core.models import PopulationMLP
from lth.core.slimming import mask_distance
from lth.data import DeviceData
from lth.shared.lenet import MNIST_CLASSES, MNIST_INPUTS
from lth.shared.lottery import last_level, one_shot_masks
from lth.shared.members import derive_seed
from lth.shared.settings import check_batches_fit
from lth.shared.stage import NUMERICS, Compute, write_results, write_timing
from lth.shared.subsets import first_examples, population_chunk
from lth.shared.ticket_file import read_tickets, unpack_masks
from lth.shared.trajectory import train_recording
from lth.stage_run import StageRun


@dataclass(frozen=True)
class MaskDistanceConfig:
    """Dense LeNet-300-100 and Conv-2 trainings recorded along the way, and the rule's threshold."""
    levels: list[int] = setting([3, 7, 12], "one-shot levels (IMP rounds' worth at the LTH's per-layer rates) "
                                "whose masks are compared", min=1)
    threshold: float = setting(0.1, "the stopping rule's distance (fraction of all prunable weights)", min=0, max=1)
    trials: int = setting(5, "dense trainings per net (different inits and batches)", min=1)
    batch_size: int = setting(60, "minibatch size of both nets", min=1)
    lenet_iterations: int = setting(50000, "LeNet training iterations (Adam 1.2e-3, Glorot init)", min=1)
    lenet_record_every: int = setting(500, "LeNet iterations between recorded masks", min=1)
    conv2_width: float = setting(1.0, "Conv-2's width multiplier", min=0, min_exclusive=True)
    conv2_lr: float = setting(2e-4, "Conv-2's Adam rate", min=0, min_exclusive=True)
    conv2_train_examples: int = setting(0, "Conv-2 trains on the first N training images (0 = all)", min=0)
    conv2_iterations: int = setting(20000, "Conv-2 training iterations", min=1)
    conv2_record_every: int = setting(500, "Conv-2 iterations between recorded masks", min=1)
    seed: int = setting(8, "base seed", min=0)

    def check(self, prefix: str) -> None:
        """Each net records at least once before its end; every level still prunes both nets."""
        for net in ("lenet", "conv2"):
            every, total = getattr(self, f"{net}_record_every"), getattr(self, f"{net}_iterations")
            if every >= total:
                raise ConfigError(f"params.yaml: {prefix}.{net}_record_every = {every}: must be below "
                                  f"{prefix}.{net}_iterations ({total})")
        conv2 = make_convnet("conv2", self.conv2_width)
        shapes = conv2.shapes()
        for net, sizes, rates in (
                ("lenet", {"fc0.weight": MNIST_INPUTS * 300, "fc1.weight": 300 * 100,
                           "fc2.weight": 100 * MNIST_CLASSES}, LENET_RATES),
                ("conv2", {n: math.prod(shapes[n][0]) for n in conv2.layer_kinds},
                 {n: CONV_RATES[kind] for n, kind in conv2.layer_kinds.items()})):
            last = last_level(sizes, rates)
            if max(self.levels) > last:
                raise ConfigError(f"params.yaml: {prefix}.levels = {self.levels}: level {max(self.levels)} is beyond "
                                  f"the last level that still prunes {net} at its rates ({last})")


LENET_RATES = {"fc0.weight": 0.2, "fc1.weight": 0.2, "fc2.weight": 0.1}
CONV_RATES = {"conv": 0.1, "fc": 0.2, "output": 0.1}


def trajectory_distances(model: Any, names: list[str], rates: dict[str, float], job: TrainJob, levels: list[int],
                         chunk: int | None) -> dict[str, Any]:
    """Train ``job``, and at every recorded point and level the distance of its mask to the final one."""
    result, points = train_recording(job, lambda state, rows: {n: state[n] for n in names}, chunk)
    final = {n: result.params[n] for n in names}
    iterations = [job.settings.eval_every * (i + 1) for i in range(len(points))] + [job.settings.iterations]
    out = {"iterations": iterations, "levels": []}
    for level in levels:
        last = one_shot_masks(final, names, rates, level)
        rows = [mask_distance(one_shot_masks(p, names, rates, level), last) for p in points + [final]]
        kept = sum(last[n][0].sum() for n in names) / sum(last[n][0].numel() for n in names)
        out["levels"].append({"round": level, "pm": round(float(kept), 6),
                              "distance": [[round(float(r[k]), 6) for r in rows] for k in range(job.members)]})
    return out


def lenet_run(config: MaskDistanceConfig, data: DeviceData, device: torch.device, progress: bool) -> dict[str, Any]:
    """LeNet-300-100's recorded dense trainings."""
    check_batches_fit("mask_distance", config.batch_size, len(data.train))
    model = PopulationMLP((MNIST_INPUTS, 300, 100, MNIST_CLASSES), "relu")
    seeds = [derive_seed(config.seed, "lenet", t) for t in range(config.trials)]
    settings = TrainSettings(iterations=config.lenet_iterations, batch_size=config.batch_size, lr=1.2e-3,
                             eval_every=config.lenet_record_every)
    job = TrainJob(model, model.init_params(seeds, "glorot_normal", device=device), {}, settings, data.train,
                   [derive_seed(config.seed, "lenet data", t) for t in range(config.trials)],
                   progress="mask distance lenet" if progress else None)
    return trajectory_distances(model, model.layer_names, LENET_RATES, job, config.levels, None)


def conv2_run(config: MaskDistanceConfig, data: DeviceData, device: torch.device, progress: bool) -> dict[str, Any]:
    """Conv-2's recorded dense trainings."""
    train = first_examples(data.train, config.conv2_train_examples, "mask_distance.conv2_train_examples", "training")
    check_batches_fit("mask_distance", config.batch_size, len(train))
    model = make_convnet("conv2", config.conv2_width)
    kinds = model.layer_kinds
    names = list(kinds)
    rates = {n: CONV_RATES[kinds[n]] for n in names}
    seeds = [derive_seed(config.seed, "conv2", t) for t in range(config.trials)]
    settings = TrainSettings(iterations=config.conv2_iterations, batch_size=config.batch_size, lr=config.conv2_lr,
                             eval_every=config.conv2_record_every)
    job = TrainJob(model, model.init_params(seeds, "glorot_normal", device=device), {}, settings, train,
                   [derive_seed(config.seed, "conv2 data", t) for t in range(config.trials)],
                   progress="mask distance conv2" if progress else None)
    return trajectory_distances(model, names, rates, job, config.levels, population_chunk(device))


def imp_distances(tickets_path: Path) -> dict[str, Any]:
    """The distance between the ticket masks of consecutive IMP rounds of the ``mnist_v1`` run, per trial;
    also relative to the earlier ticket's survivors."""
    tickets = read_tickets(tickets_path)
    names = sorted(n.removeprefix("masks/") for n in tickets if n.startswith("masks/"))
    shapes = {n: tuple(tickets[f"init/{n}"].shape[1:]) for n in names}
    rounds = tickets[f"masks/{names[0]}"].shape[0]
    masks = [{n: unpack_masks(tickets[f"masks/{n}"][r], shapes[n]) for n in names} for r in range(rounds)]
    out = {"rounds": list(range(rounds)), "distance": [], "relative": [], "pm": []}
    for r in range(rounds):
        alive = sum(masks[r][n].flatten(1).sum(1) for n in names).double()
        out["pm"].append([round(float(a), 6) for a in alive / sum(masks[r][n][0].numel() for n in names)])
    for r in range(1, rounds):
        d = mask_distance(masks[r], masks[r - 1])
        earlier = sum(masks[r - 1][n].flatten(1).sum(1) for n in names).double()
        total = sum(masks[r][n][0].numel() for n in names)
        out["distance"].append([round(float(v), 6) for v in d])
        out["relative"].append([round(float(v), 6) for v in d * total / earlier])
    return out


SECTIONS = {"mask_distance": MaskDistanceConfig, **NUMERICS}


def stage(run: StageRun) -> str:
    """Mask distances along a LeNet and a Conv-2 training and between the ``mnist_v1`` run's consecutive
    tickets; writes results/mask_distance/distances.json and its timing file."""
    loaded = run.section("mask_distance", MaskDistanceConfig)
    config, compute = loaded.config, Compute.pick(run)
    start = time.perf_counter()
    imp = imp_distances(run.artifacts / "mnist_v1" / "tickets.pt")
    mnist, cifar10 = compute.load(run, "mnist"), compute.load(run, "cifar10")   # every input read before training
    lenet = lenet_run(config, mnist, compute.device, True)
    conv2 = conv2_run(config, cifar10, compute.device, True)
    write_results(run.results / "mask_distance" / "distances.json", loaded, compute, lenet=lenet, conv2=conv2,
                  imp_mnist_v1=imp)
    write_timing(run.results / "mask_distance" / "timing.json", start, compute.device)
    return f"{len(lenet['iterations'])} LeNet and {len(conv2['iterations'])} Conv-2 points, {config.trials} trials"
