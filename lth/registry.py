"""Every experiment the pipeline runs, in the report's order: what ``lth run --help`` lists, what orders the
report's sections, and what a test keeps ``dvc.yaml`` equal to.

An entry is data only (strings): ``lth run <name>`` runs ``stage()`` of module ``lth.experiments.<name>`` (the
report: ``lth.report.stage``), so running a stage never imports this file and adding an entry re-runs no stage
but the report. See README "Adding an experiment".
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Experiment:
    """One experiment: its ``lth run`` name, the dvc.yaml stages running it, what it reproduces and where,
    and its report page (module ``lth.report.<page>``; None: shown inside another page or not a section)."""
    name: str
    stages: tuple[str, ...]
    title: str
    source: str
    page: str | None


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("data", ("data",), "prepare MNIST, Fashion-MNIST and CIFAR-10 (uint8 tensors, validation split)",
               "final paper §2", None),
    Experiment("xor", ("xor",), "XOR unit pruning: random-init and pruning success tables", "v1 §2", "xor"),
    Experiment("xor_calibration", ("xor_calibration",), "XOR: the choices v1 leaves open, swept on its first table",
               "v1 §2", None),
    Experiment("xor_sensitivity", ("xor_sensitivity",), "XOR: the pruning table at the calibration's closest "
               "settings", "v1 §2", None),
    Experiment("mnist", ("mnist",), "LeNet-300-100: IMP, one-shot, reinit / rewiring / random-mask controls, Han",
               "final paper Figs. 1, 3, 4", "mnist"),
    Experiment("mnist_v1", ("mnist_v1",), "LeNet-300-100 in v1's setup, controls at every level",
               "v1 §3, 4, 6", "mnist_v1"),
    Experiment("anatomy", ("anatomy",), "anatomy of winning tickets (surviving inits, connectivity)", "v1 §5",
               "anatomy"),
    Experiment("sweeps", ("sweep",), "v1's sweeps: init scale, pruning rate, network size", "v1 §6", "sweeps"),
    Experiment("cifar", ("cifar_conv", "cifar_deep"), "CIFAR-10 Conv-2/4/6 (plain, dropout); VGG-19 and "
               "ResNet-20 (learning rate, warmup)", "final paper Figs. 5-8", "cifar"),
    Experiment("deconstruct", ("deconstruct",), "Zhou et al.: mask criteria, mask-1 / mask-0 actions, supermasks",
               "follow-ups post; Zhou et al. 2019", "deconstruct"),
    Experiment("importance", ("importance",), "layerwise importance: IMP by 5 importance values, ticket overlap",
               "Vandersmissen & Oramas", "importance"),
    Experiment("early_bird", ("early_bird",), "early-bird tickets (network slimming, mask distance)",
               "follow-ups post; You et al. 2019", "early_bird"),
    Experiment("mask_distance", ("mask_distance",), "the Hamming-distance stopping rule on unstructured masks",
               "follow-ups post", "mask_distance"),
    Experiment("rewinding", ("rewinding",), "late rewinding and linear mode connectivity (VGG-19, ResNet-20)",
               "Frankle et al. 2020", "rewinding"),
    Experiment("double_descent", ("double_descent",), "double descent across the interpolation threshold, and IMP "
               "tickets on the same axes", "seed 002 (Belkin et al.); He et al. 2022", "double_descent"),
    Experiment("transformer_tickets", ("transformer_tickets",), "lottery tickets in a small character-level "
               "transformer: rewinding to init and to iteration k", "seed 004; Frankle et al. 2020; Chen et al. 2020",
               "transformer_tickets"),
    Experiment("report", ("report",), "the report, its figures, metrics and claims ledger", "all of the above",
               None),
)


def experiment(name: str) -> Experiment | None:
    """The entry called ``name``, or None."""
    return next((e for e in EXPERIMENTS if e.name == name), None)
