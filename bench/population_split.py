"""One LeNet-300-100 population training as the ``mnist`` stage's rounds train theirs, split over the CPU's cores
by the fork split (``lth.core.processes``) or by ``torchrun`` ranks (``lth.ranks``): the two mechanisms of one CPU
host, timed against each other with farm-bench (docs/distributed.md has the numbers).

    farm-bench -n 5 --timeout 900 -- python bench/population_split.py \\
        --vs 'python -m torch.distributed.run --standalone --nproc_per_node=2 bench/population_split.py'

Without ``torchrun`` it trains in one process whose threads the fork split turns into one single-thread worker
process per core; under ``torchrun`` every rank trains its share single-threaded (torchrun's default
OMP_NUM_THREADS=1). Random inputs of MNIST's sizes (the rate does not depend on them); each member its own batch
order; evaluations every 100 iterations on 5,000 validation images, as the stage's. Rank 0 prints the wall time
of the training alone.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lth import ranks  # noqa: E402
from lth.core.engine import Split, TrainJob, TrainSettings  # noqa: E402
from lth.core.masks import dense_masks, prune_by_rate  # noqa: E402
from lth.core.models import PopulationMLP  # noqa: E402
from lth.core.processes import train_in_processes, worker_count  # noqa: E402


def population_job(members: int, iterations: int, examples: int) -> TrainJob:
    """``members`` LeNet-300-100s, 80% of each layer's weights kept, Adam at the paper's rate and batch size."""
    generator = torch.Generator().manual_seed(0)
    split = lambda n: Split(torch.randn(n, 784, generator=generator), torch.randint(0, 10, (n,), generator=generator))  # noqa: E731
    model = PopulationMLP((784, 300, 100, 10))
    params = model.init_params(list(range(members)))
    masks = prune_by_rate({n: params[n].abs() for n in model.layer_names}, dense_masks(params, model.layer_names),
                          {n: 0.2 for n in model.layer_names})
    settings = TrainSettings(iterations=iterations, batch_size=60, optimizer="adam", lr=1.2e-3, eval_every=100)
    return TrainJob(model, params, masks, settings, split(examples), list(range(members)),
                    evaluations={"validation": split(5000)}, track_best="validation")


def main(argv: list[str] | None = None) -> None:
    """Train once and print the training's wall time (rank 0)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=16, help="population size (default 16)")
    parser.add_argument("--iterations", type=int, default=1000, help="iterations per member (default 1000)")
    parser.add_argument("--examples", type=int, default=55000, help="training examples (default 55,000)")
    args = parser.parse_args(argv)
    ranks.start()
    job = population_job(args.members, args.iterations, args.examples)
    processes = worker_count(torch.device("cpu"), args.members)
    start = time.perf_counter()
    train_in_processes(job, args.members, processes)
    if ranks.is_leader():
        rank_count = ranks.world()[1]
        how = f"{rank_count} ranks" if rank_count > 1 else f"{processes} forked worker(s)"
        print(f"{args.members} members x {args.iterations} iterations over {how}: "
              f"{time.perf_counter() - start:.2f} s", flush=True)


if __name__ == "__main__":
    main()
