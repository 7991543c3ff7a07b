"""Benchmark: the population transformer (``lth/core/transformer.py``, K nets as stacked tensors, one engine step
for all) against the same nets trained the usual way (one torch.nn module per net, ``bench/plain_transformer.py``,
trained one after another with torch.optim.Adam), on the current device.

    python bench/transformer.py                 # the quick profile's nets and population (9 members)
    python bench/transformer.py --json
    python bench/transformer.py --tiny          # seconds, at toy sizes (tests/test_bench.py); rates meaningless

Both train dense nets of the ``transformer_tickets`` section at the chosen profile (context, width, heads, blocks,
feed-forward units; batch size, Adam at its rate) on random token windows over a 103-character vocabulary (the
corpus's size; rates do not depend on the tokens), without evaluations: model-steps per second, each the fastest
of three runs, and their ratio. bench/README.md has the numbers.
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

from bench.engine import section_at, sync  # noqa: E402
from bench.plain_transformer import PlainTransformer  # noqa: E402
from lth.core.engine import Split, TrainJob, train_population  # noqa: E402
from lth.device import pick_device  # noqa: E402
from lth.experiments.transformer_tickets import TransformerConfig, model_for  # noqa: E402

VOCAB = 103        # characters of pydoc_data.topics (results/transformer/tickets.json: vocab)


def windows(config: TransformerConfig, count: int, device: torch.device) -> Split:
    """``count`` random token windows with a next token each."""
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, VOCAB, (count, config.context + 1), generator=generator).to(device)
    return Split(tokens[:, :-1], tokens[:, -1])


def population_rate(config: TransformerConfig, members: int, iterations: int, data: Split,
                    device: torch.device) -> float:
    """Model-steps/s of the engine training ``members`` dense nets together (own batch orders)."""
    model = model_for(config, VOCAB)
    settings = config.to_train_settings(iterations=iterations, eval_every=0, patience=0)
    job = TrainJob(model, model.init_params(list(range(members)), device=device), {}, settings, data,
                   list(range(members)))
    sync(device)
    start = time.perf_counter()
    train_population(job)
    sync(device)
    return members * iterations / (time.perf_counter() - start)


def plain_rate(config: TransformerConfig, members: int, iterations: int, data: Split, device: torch.device) -> float:
    """Model-steps/s of ``members`` torch.nn transformers trained one after another (Adam, random batches)."""
    model = model_for(config, VOCAB)
    init = model.init_params(list(range(members)))
    generator = torch.Generator().manual_seed(1)
    sync(device)
    start = time.perf_counter()
    for k in range(members):
        net = PlainTransformer(model, {n: t[k] for n, t in init.items()}).to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
        for _ in range(iterations):
            batch = torch.randint(0, len(data), (config.batch_size,), generator=generator).to(device)
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(net(data.x[batch]), data.y[batch]).backward()
            optimizer.step()
    sync(device)
    return members * iterations / (time.perf_counter() - start)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Both rates (fastest of ``args.repeats`` runs each, alternating) and their ratio."""
    config = section_at(args.profile, "transformer_tickets", TransformerConfig)
    device = pick_device()
    members = args.members or config.trials * (1 + config.reinit_per_ticket + config.random_mask_per_ticket)
    data = windows(config, args.windows, device)
    population, plain = [], []
    for _ in range(args.repeats):
        population.append(population_rate(config, members, args.iterations, data, device))
        plain.append(plain_rate(config, members, args.iterations, data, device))
    return {"device": str(device), "threads": torch.get_num_threads(), "profile": args.profile, "members": members,
            "iterations": args.iterations, "net": {k: getattr(config, k) for k in ("context", "width", "heads",
                                                                                    "layers", "ff", "batch_size")},
            "population_model_steps_per_s": round(max(population), 1),
            "plain_model_steps_per_s": round(max(plain), 1), "x_plain": round(max(population) / max(plain), 2),
            "runs": {"population": [round(r, 1) for r in population], "plain": [round(r, 1) for r in plain]}}


def main(argv: list[str] | None = None) -> None:
    """Measure; print a line (or, with --json, the JSON object)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="quick", choices=("smoke", "quick", "paper"),
                        help="params.yaml profile whose transformer is measured (default quick)")
    parser.add_argument("--members", type=int, default=0, help="population size (0: trials x (1 + controls))")
    parser.add_argument("--iterations", type=int, default=200, help="iterations per net and run (default 200)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, alternating (default 3)")
    parser.add_argument("--windows", type=int, default=20000, help="random training windows (default 20,000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--tiny", action="store_true", help="smoke profile, 2 members, 5 iterations, 1 run")
    args = parser.parse_args(argv)
    if args.tiny:
        args.profile, args.members, args.iterations, args.repeats, args.windows = "smoke", 2, 5, 1, 500
    report = measure(args)
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"{report['members']} transformers ({report['net']}) on {report['device']}, {report['threads']} threads: "
          f"population {report['population_model_steps_per_s']} model-steps/s, plain torch.nn loop "
          f"{report['plain_model_steps_per_s']} -> {report['x_plain']}x")


if __name__ == "__main__":
    main()
