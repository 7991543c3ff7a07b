"""Benchmark: sparse products for sparse LeNet-300-100 members (``lth/core/sparse_products.py``) against the
dense path, at the first-layer densities of the ``mnist`` IMP ladder.

    python bench/sparse_lenet.py                # 28 members, one thread, 400 iterations, fastest of 3 runs
    python bench/sparse_lenet.py --json
    python bench/sparse_lenet.py --tiny         # seconds, toy sizes (tests/test_bench.py); rates meaningless

Each row trains a population whose members all keep the same fraction of their first layer (hidden layer
and output pruned as IMP's rates would have them at that round), Adam at batch 60 with each member's own
batch order, and evaluates 5,000 validation images every 200 iterations as the ``quick`` profile does: the
model-steps/s of the dense path (``sparse_below`` 0) and of the sparse one, alternating, and their ratio.
Random images: neither path's cost depends on the pixel values. bench/README.md has the numbers.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lth.core.engine import Split, TrainJob, TrainSettings, train_population  # noqa: E402
from lth.core.models import PopulationMLP  # noqa: E402

ROUNDS = (0, 5, 7, 10, 13, 17)            # IMP rounds of the mnist ladder: first layer at 0.8 ** round


def masks_at(params: dict[str, torch.Tensor], round_index: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Random masks keeping 0.8 ** round of each hidden layer and 0.9 ** round of the output layer."""
    keep = {"fc0.weight": 0.8 ** round_index, "fc1.weight": 0.8 ** round_index, "fc2.weight": 0.9 ** round_index}
    return {n: (torch.rand(params[n].shape, generator=generator) < k).float() for n, k in keep.items()}


def rate(args: argparse.Namespace, round_index: int, below: float) -> float:
    """Model-steps/s of one population trained at ``round_index``'s densities with ``sparse_below`` = below."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(args.images + args.validation, 784, generator=generator)
    labels = torch.randint(0, 10, (len(images),), generator=generator)
    train, validation = Split(images[:args.images], labels[:args.images]), Split(images[args.images:],
                                                                                  labels[args.images:])
    model = PopulationMLP((784, 300, 100, 10))
    params = model.init_params(list(range(args.members)))
    settings = TrainSettings(iterations=args.iterations, batch_size=60, optimizer="adam", lr=1.2e-3,
                             eval_every=args.eval_every, sparse_below=below)
    job = TrainJob(model, params, masks_at(params, round_index, generator), settings, train,
                   list(range(args.members)), {"validation": validation}, track_best="validation")
    start = time.perf_counter()
    train_population(job)
    return args.members * args.iterations / (time.perf_counter() - start)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Both rates per round (fastest of ``args.repeats``, alternating) and their ratio."""
    torch.set_num_threads(args.threads)
    rows = []
    for round_index in args.rounds:
        dense, sparse = [], []
        for _ in range(args.repeats):
            dense.append(rate(args, round_index, 0.0))
            sparse.append(rate(args, round_index, args.below))
        rows.append({"round": round_index, "first_layer_kept": round(0.8 ** round_index, 4),
                     "dense_model_steps_per_s": round(max(dense), 1), "sparse_model_steps_per_s": round(max(sparse), 1),
                     "x_dense": round(max(sparse) / max(dense), 2)})
    return {"members": args.members, "threads": args.threads, "iterations": args.iterations,
            "eval_every": args.eval_every, "validation_images": args.validation, "sparse_below": args.below,
            "rows": rows}


def main(argv: list[str] | None = None) -> None:
    """Measure; print a table (or, with --json, the JSON object)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=28, help="population size (default 28, mnist's groups)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as a worker process)")
    parser.add_argument("--iterations", type=int, default=400, help="iterations per run (default 400)")
    parser.add_argument("--eval-every", type=int, default=200, help="validation every n iterations (default 200)")
    parser.add_argument("--validation", type=int, default=5000, help="validation images (default 5,000)")
    parser.add_argument("--images", type=int, default=6000, help="training images (default 6,000)")
    parser.add_argument("--below", type=float, default=0.25, help="sparse_below of the sparse runs (default 0.25)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, alternating (default 3)")
    parser.add_argument("--rounds", type=int, nargs="+", default=list(ROUNDS),
                        help="IMP rounds measured (default 0 5 7 10 13 17: Pm 100 to 2.2%%)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--tiny", action="store_true", help="2 members, 4 iterations, 1 run")
    args = parser.parse_args(argv)
    if args.tiny:
        args.members, args.iterations, args.eval_every = 2, 4, 2
        args.validation, args.images, args.repeats = 100, 200, 1
    report = measure(args)
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"{report['members']} LeNet-300-100s, {report['threads']} thread(s), {report['iterations']} iterations, "
          f"{report['validation_images']} validation images every {report['eval_every']}:")
    for row in report["rows"]:
        print(f"  round {row['round']:2d} (first layer {row['first_layer_kept']:.1%}): dense "
              f"{row['dense_model_steps_per_s']} model-steps/s, sparse {row['sparse_model_steps_per_s']} -> "
              f"{row['x_dense']}x")


if __name__ == "__main__":
    main()
