"""Measurement: what stopping a LeNet training ``patience`` iterations after its best validation loss changes,
against the same members trained full length.

Trains dense LeNet-300-100s (the params' `mnist` section at the chosen profile: init, optimizer, rate, batch),
prunes them one-shot to a few levels, and trains at each level the rewound tickets, random reinits (fresh
init, same mask) and random sparse masks (original init) for ``--iterations`` with validation and test curves.
Stopping is exact for these members (a stopped member's arithmetic up to its stop is the full run's: the
engine tests this bit for bit), so for each patience the early-stop point and the test accuracy there follow
from the full curves. Prints, per patience: how many early-stop points change, by how much (iterations, test
accuracy), and the mean iterations trained. --json writes the curves and the table.

    python bench/patience_effect.py                        # long: bench/README.md has its run time
    python bench/patience_effect.py --levels 7 15 --iterations 20000 --trials 1
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path

import torch

from lth.config import load_section
from lth.core.engine import TrainJob
from lth.core.masks import dense_masks, remaining_fraction
from lth.core.processes import train_in_processes, worker_count
from lth.data import load_prepared
from lth.device import configure_numerics, pick_device
from lth.shared.lenet import MnistConfig, layer_rates, lenet
from lth.shared.lottery import one_shot_masks, random_masks_like
from lth.shared.members import derive_seed

ROLES = ("ticket", "reinit", "random_mask")


def stop_under(validation: list[float], iterations: list[int], patience: int, last: int) -> tuple[int, int]:
    """(index of the early-stop point, iteration at which training stops) under ``patience`` (0 = full)."""
    best, at = math.inf, 0
    for i, (loss, iteration) in enumerate(zip(validation, iterations)):
        if loss < best:
            best, at = loss, i
        if patience and iteration < last and iteration - iterations[at] >= patience:
            return at, iteration
    return at, last


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (``argv``, or ``sys.argv``'s)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/mnist.pt")
    parser.add_argument("--levels", type=int, nargs="+", default=[3, 7, 12, 15],
                        help="one-shot levels, as IMP rounds (default: Pm 51, 21, 7, 3.6%%)")
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=30000, help="full length of every training")
    parser.add_argument("--patience", type=int, nargs="+", default=[1500, 2000, 2500, 3000])
    parser.add_argument("--json", type=Path, help="write curves and table here")
    return parser.parse_args(argv)


def train_levels(args: argparse.Namespace) -> list[dict]:
    """One row per training: dense LeNets trained, pruned one-shot to each level, and the level's tickets,
    reinits and random masks trained full length with their validation-loss and test-accuracy curves."""
    config = load_section(args.params, "mnist", MnistConfig).config
    device = pick_device()
    configure_numerics(device)
    data = load_prepared(Path(args.data), device, flatten=True)
    model = lenet(config)
    names, rates = model.layer_names, layer_rates(config, model.layer_names)
    settings = dataclasses.replace(config.to_train_settings(), patience=0)
    seeds = [derive_seed("patience bench", "init", t) for t in range(args.trials)]
    init = model.init_params(seeds, config.init, config.init_std, device=device)
    evaluations = {"validation": data.validation, "test": data.test}

    def train(params, masks, label, iterations):
        job = TrainJob(model, params, masks, dataclasses.replace(settings, iterations=iterations), data.train,
                       [derive_seed("patience bench", label, k) for k in range(len(next(iter(params.values()))))],
                       evaluations, track_best="validation", progress=label)
        return train_in_processes(job, job.members, worker_count(device, job.members))

    dense = train(init, dense_masks(init, names), "dense", min(args.iterations, 10000))
    rows = []
    for level in args.levels:
        masks = one_shot_masks(dense.params, names, rates, level)
        reinit = model.init_params([derive_seed("patience bench", "reinit", level, t) for t in range(args.trials)],
                                   config.init, config.init_std, device=device)
        random = random_masks_like(masks, [derive_seed("patience bench", "mask", level, t) for t in range(args.trials)])
        params = {n: torch.cat([init[n], reinit[n], init[n]]) for n in init}
        level_masks = {n: torch.cat([masks[n], masks[n], random[n]]) for n in masks}
        result = train(params, level_masks, f"Pm level {level}", args.iterations)
        pm = float(remaining_fraction(masks, names)[0])
        for k in range(3 * args.trials):
            rows.append({"level": level, "pm": pm, "role": ROLES[k // args.trials],
                         "iterations": result.eval_iterations,
                         "validation_loss": result.curves["validation"]["loss"][k].tolist(),
                         "test_accuracy": result.curves["test"]["accuracy"][k].tolist()})
    return rows


def patience_row(rows: list[dict], patience: int, iterations: int) -> dict:
    """What stopping ``patience`` iterations after the best validation loss changes against training all
    ``iterations``: early-stop points moved, by how much (iterations, test accuracy), mean iterations trained."""
    changed, its_shift, acc_shift, trained = 0, [], [], []
    for row in rows:
        full, _ = stop_under(row["validation_loss"], row["iterations"], 0, iterations)
        early, stop = stop_under(row["validation_loss"], row["iterations"], patience, iterations)
        trained.append(stop)
        if early != full:
            changed += 1
            its_shift.append(row["iterations"][full] - row["iterations"][early])
            acc_shift.append(100 * (row["test_accuracy"][full] - row["test_accuracy"][early]))
    return {"patience": patience, "trainings": len(rows), "changed": changed,
            "max_iteration_shift": max(its_shift, default=0),
            "max_abs_accuracy_shift_pp": round(max(map(abs, acc_shift), default=0.0), 3),
            "mean_accuracy_shift_pp": round(sum(acc_shift) / len(rows), 4),
            "mean_iterations_trained": round(sum(trained) / len(trained))}


def main(argv: list[str] | None = None) -> None:
    """Train, then print the table per patience (and write curves and table with --json)."""
    args = parse_args(argv)
    start = time.perf_counter()
    rows = train_levels(args)
    table = [patience_row(rows, patience, args.iterations) for patience in args.patience]
    print(f"{len(rows)} trainings of {args.iterations} iterations ({time.perf_counter() - start:.0f} s)")
    print("patience  changed  max shift (it)  max |acc shift| pp  mean acc shift pp  mean its trained")
    for t in table:
        print(f"{t['patience']:8d}  {t['changed']:3d}/{t['trainings']:<3d}  {t['max_iteration_shift']:14d}  "
              f"{t['max_abs_accuracy_shift_pp']:18.3f}  {t['mean_accuracy_shift_pp']:17.4f}  "
              f"{t['mean_iterations_trained']:16d}")
    if args.json:
        args.json.write_text(json.dumps({"table": table, "rows": rows}))


if __name__ == "__main__":
    main()
