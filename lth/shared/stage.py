"""What every training stage's body shares: the device it computes on and its record in the results, the timing
file, and the lottery stages' common body (data, run, results, timing, checkpoint)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from lth.config import Loaded, setting
from lth.data import DeviceData, load_prepared, verify_prepared
from lth.device import configure_numerics, environment_record, pick_device
from lth.host import host_record
from lth.io import write_json_atomic
from lth.stage_run import StageRun, config_record

# prepared dataset -> whether its images are flattened for the model (the MLPs) or kept as images (conv nets)
FLATTENED = {"mnist": True, "fashion_mnist": True, "cifar10": False}


@dataclass(frozen=True)
class NumericsConfig:
    """params.yaml's ``numerics`` section, read by every training stage: how a GPU computes float32 products
    (one mode per process, so one section for all stages; bfloat16 is each section's ``mixed_precision``)."""
    tf32: bool = setting(False, "TF32 for float32 matrix products and convolutions on CUDA GPUs (Ampere and "
                         "later: faster, 10-bit mantissa); off for the paper's numbers; recorded in every results "
                         "file's environment; a CPU has no TF32 mode and computes float32 either way")


NUMERICS = {"numerics": NumericsConfig}     # in every training module's SECTIONS (``lth run <name> --help``)


@dataclass(frozen=True)
class Compute:
    """The device a stage computes on and its numerical settings (recorded in every result)."""
    device: torch.device
    numerics: dict[str, Any] | None

    @classmethod
    def pick(cls, run: StageRun) -> "Compute":
        """CUDA when present, else the CPU (``LTH_DEVICE`` overrides), with the numerics ``run``'s params file
        asks for (its ``numerics`` section) set."""
        device = pick_device()
        return cls(device, configure_numerics(device, run.section("numerics", NumericsConfig).config.tf32))

    def environment(self) -> dict[str, Any]:
        """The device and library versions as every results file records them."""
        return environment_record(self.device, self.numerics)

    def load(self, run: StageRun, dataset: str) -> DeviceData:
        """Prepared ``dataset`` on this device, flattened for the MLPs or as images for the conv nets."""
        return load_prepared(run.dataset(dataset), self.device, flatten=FLATTENED[dataset])


def write_results(path: Path, loaded: Loaded, compute: Compute, **results: Any) -> None:
    """A stage's results file: the profile and config it ran, the device it ran on, and ``results``."""
    write_json_atomic(path, {**config_record(loaded), "environment": compute.environment(), **results})


def write_timing(path: Path, start: float, device: torch.device, **extra: Any) -> None:
    """A stage's timing file: wall seconds since ``start``, threads, device and host (read by the report's
    run-time table, never compared between runs)."""
    write_json_atomic(path, {"total_s": round(time.perf_counter() - start, 1), "threads": torch.get_num_threads(),
                             "device": device.type, "host": host_record(), **extra})


def run_lottery_stage(make_lottery: Callable[[DeviceData, torch.device], Any], run: StageRun, dataset: str,
                      results_path: Path, timing_path: Path, checkpoint: Path,
                      record: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """Load the prepared data on the chosen device, run the lottery (resuming from ``checkpoint``), write
    ``results_path`` (``record(lottery)``, the environment and the results) and ``timing_path``, then drop
    the checkpoint. Returns the results."""
    compute = Compute.pick(run)
    data = compute.load(run, dataset)
    start = time.perf_counter()
    lottery = make_lottery(data, compute.device)
    results = lottery.run()
    write_json_atomic(results_path, {**record(lottery), "environment": compute.environment(), **results})
    write_timing(timing_path, start, compute.device)
    checkpoint.unlink(missing_ok=True)
    return results


def run_study(study: str, run: StageRun, loaded: Loaded, datasets: dict[str, str],
              make_lottery: Callable[[DeviceData, torch.device, Path, str], Any],
              describe: Callable[[dict[str, Any]], str]) -> str:
    """A mask study's stage body: its lottery for every net of the section's ``nets`` (on ``datasets[net]``),
    each writing <results>/<study>/<net>.json and <net>_timing.json (resuming from <checkpoints>/<study>/<net>.pt);
    returns the stage's one-line summary (``describe`` of each net's results)."""
    config, out, done = loaded.config, run.results / study, []
    for dataset in sorted({datasets[net] for net in config.nets}):
        verify_prepared(run.dataset(dataset))       # a damaged second dataset stops the stage before any training
    for net in config.nets:
        checkpoint = run.checkpoints / study / f"{net}.pt"
        result = run_lottery_stage(
            lambda data, device, net=net, checkpoint=checkpoint: make_lottery(data, device, checkpoint, net),
            run, datasets[net], out / f"{net}.json", out / f"{net}_timing.json", checkpoint,
            lambda lottery, net=net: {**config_record(loaded), "net": net})
        done.append(f"{net}: {describe(result)}")
    return "; ".join(done) + f", {config.trials} trials"
