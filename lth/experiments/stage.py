"""The body every lottery stage shares: device, data, the lottery's run, its results and timing files."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import torch

from lth.data import DeviceData, load_prepared
from lth.device import configure_numerics, environment_record, pick_device
from lth.experiments.lottery import Lottery
from lth.host import host_record
from lth.io import write_json_atomic


def run_lottery_stage(make_lottery: Callable[[DeviceData, torch.device], Lottery], data_path: Path,
                      flatten: bool, results_path: Path, timing_path: Path, checkpoint: Path,
                      record: Callable[[Lottery], dict[str, Any]]) -> dict[str, Any]:
    """Load the prepared data on the chosen device, run the lottery (resuming from ``checkpoint``), write
    ``results_path`` (``record(lottery)``, the environment and the results) and ``timing_path``, then drop
    the checkpoint. Returns the results."""
    device = pick_device()
    numerics = configure_numerics(device)
    data = load_prepared(data_path, device, flatten=flatten)
    start = time.perf_counter()
    lottery = make_lottery(data, device)
    results = lottery.run()
    write_json_atomic(results_path, {**record(lottery), "environment": environment_record(device, numerics),
                                     **results})
    write_json_atomic(timing_path, {"total_s": round(time.perf_counter() - start, 1),
                                    "threads": torch.get_num_threads(), "device": device.type,
                                    "host": host_record()})
    checkpoint.unlink(missing_ok=True)
    return results
