"""XOR unit pruning (first version of the paper, Section 2).

(a) Random init: how often a 2-H-1 net trained from a random init finds the XOR decision boundary (DB:
all four points classified correctly) and reaches zero loss (ZL: mean binary cross-entropy below a stated
threshold) after a fixed number of full-batch iterations.
(b) Pruning: train 2-10-1 nets, remove hidden units by a heuristic (one-shot, or iteratively a few units
per round with retraining), reset the survivors to their original init and retrain.
The tables' code is shared with `xor_sensitivity` (lth/shared/xor_tables.py); this stage runs them at the
`xor` section's setting.
"""
from __future__ import annotations

import time

from lth.shared.stage import NUMERICS, Compute, write_results, write_timing
from lth.shared.xor_tables import XorConfig, pruning_table, random_init_table
from lth.stage_run import StageRun

SECTIONS = {"xor": XorConfig, **NUMERICS}


def stage(run: StageRun) -> str:
    """The random-init and pruning tables; writes results/xor/results.json and results/xor/timing.json."""
    loaded = run.section("xor", XorConfig)
    config, compute = loaded.config, Compute.pick(run)
    start = time.perf_counter()
    random_init = random_init_table(config, compute.device)
    middle = time.perf_counter()
    pruning = pruning_table(config, compute.device)
    write_results(run.results / "xor" / "results.json", loaded, compute, random_init=random_init, pruning=pruning)
    write_timing(run.results / "xor" / "timing.json", start, compute.device, random_init_s=round(middle - start, 2),
                 pruning_s=round(time.perf_counter() - middle, 2))
    widest, narrowest = str(max(config.hidden_units)), str(min(config.hidden_units))
    return (f"{config.trials} trials per configuration on {compute.device.type}; random init DB "
            f"{random_init[widest]['db']:.1f}% at {widest} units, {random_init[narrowest]['db']:.1f}% "
            f"at {narrowest}")
