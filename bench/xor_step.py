"""How long one training of a population of XOR nets takes with torch's batched products (``PopulationMLP``) and
with the members-last path of ``lth/core/tiny_mlp.py``, as a worker of the XOR stages runs it (one process, one
thread, large allocations kept on the heap), and whether the two give the same weights bit for bit.

    python bench/xor_step.py                         # 2,400 nets (a screen worker's share), widths 10 and 2
    python bench/xor_step.py --members 64 --iterations 20 --widths 2 --repeat 1 --json   # seconds (tests)

The two paths take turns, so a drift of the machine hits them alike; bench/README.md has the numbers.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lth.core import cpu_fastpath, tiny_mlp  # noqa: E402
from lth.core.engine import TrainJob, TrainSettings, train_population  # noqa: E402
from lth.shared.xor_net import xor_init, xor_net, xor_split  # noqa: E402

SETUPS = {"tanh-adam": ("tanh", "adam", 0.01), "relu-sgd": ("relu", "sgd", 1.0),
          "sigmoid-adam": ("sigmoid", "adam", 0.1)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=2400, help="nets in the population")
    parser.add_argument("--iterations", type=int, default=1000, help="full-batch steps (the paper's 1,000)")
    parser.add_argument("--widths", type=int, nargs="+", default=[10, 2], help="hidden units")
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=list(SETUPS),
                        help="activation-optimizer pairs to time")
    parser.add_argument("--repeat", type=int, default=3, help="timed trainings per path (the best counts)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    return parser.parse_args(argv)


def train_once(width: int, setup: str, members: int, iterations: int, members_last: bool) -> tuple[float, dict]:
    """Seconds of one training and its final weights, on the members-last path or torch's."""
    activation, optimizer, lr = SETUPS[setup]
    model, seeds = xor_net(width, activation), list(range(members))
    init = xor_init(model, seeds, "normal", 1.0, "like_weights")
    job = TrainJob(model, init, {}, TrainSettings(iterations, optimizer=optimizer, lr=lr), xor_split(), seeds)
    applies = tiny_mlp.applies
    if not members_last:
        tiny_mlp.applies = lambda *args: False
    try:
        start = time.perf_counter()
        result = train_population(job)
        return time.perf_counter() - start, result.params
    finally:
        tiny_mlp.applies = applies


def compare(width: int, setup: str, members: int, iterations: int, repeat: int) -> dict:
    """Best seconds of each path and whether their weights are identical."""
    seconds: dict[str, list[float]] = {"torch": [], "members_last": []}
    weights = {}
    for _ in range(repeat):
        for path in seconds:
            elapsed, weights[path] = train_once(width, setup, members, iterations, path == "members_last")
            seconds[path].append(elapsed)
    same = all(torch.equal(weights["torch"][name], weights["members_last"][name]) for name in weights["torch"])
    return {"width": width, "setup": setup, "torch_s": round(min(seconds["torch"]), 3),
            "members_last_s": round(min(seconds["members_last"]), 3), "same_weights": same}


def main(argv: list[str] | None = None) -> None:
    """Time both paths for every width and setup, single-threaded, and print the table."""
    args = parse_args(argv)
    torch.set_num_threads(1)
    cpu_fastpath.keep_large_allocations_on_heap()          # as in a training worker
    rows = [compare(width, setup, args.members, args.iterations, args.repeat)
            for setup in args.setups for width in args.widths]
    if args.json:
        print(json.dumps({"members": args.members, "iterations": args.iterations, "rows": rows}))
        return
    print(f"{args.members} XOR nets, {args.iterations} iterations, best of {args.repeat} (seconds)")
    print(f"{'setup':<14}{'width':>6}{'torch':>9}{'members-last':>14}{'speed-up':>10}  same weights")
    for row in rows:
        print(f"{row['setup']:<14}{row['width']:>6}{row['torch_s']:>9.3f}{row['members_last_s']:>14.3f}"
              f"{row['torch_s'] / row['members_last_s']:>9.2f}x  {row['same_weights']}")


if __name__ == "__main__":
    main()
