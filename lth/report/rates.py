"""Measured training rates, read from the results' timing files (never written into code): how many training
iterations a lottery stage's members ran in all, and per second of the stage's wall time."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from lth.report.common import read_json



def member_iterations(record: Any) -> int:
    """Training iterations of every member in a lottery results file (each member's ``stopped_iteration``)."""
    if isinstance(record, dict):
        own = sum(record["stopped_iteration"]) if isinstance(record.get("stopped_iteration"), list) else 0
        return own + sum(member_iterations(v) for k, v in record.items() if k != "stopped_iteration")
    if isinstance(record, list):
        return sum(member_iterations(v) for v in record)
    return 0


def results_of(path: Path) -> list[Path]:
    """The results files a timing file times: ``<name>.json`` beside ``<name>_timing.json``; for a folder's
    ``timing.json``, every results file there without a timing file of its own. Read from the file names only,
    so a new experiment's timing files need no entry here."""
    if path.name != "timing.json":
        own = path.with_name(path.name.removesuffix("_timing.json") + ".json")
        return [own] if own.exists() else []
    return sorted(f for f in path.parent.glob("*.json")
                  if not f.name.endswith("timing.json") and not f.with_name(f"{f.stem}_timing.json").exists())


def stage_iterations(timing_path: Path) -> int:
    """Training iterations of every lottery member in the results files ``timing_path`` times (0: none)."""
    return sum(member_iterations(read_json(source)) for source in results_of(timing_path))


def stage_seconds(timing: dict[str, Any]) -> float:
    """A stage's wall time from its timing file (its total, or the sum of its parts)."""
    return timing.get("total_s", sum(v for k, v in timing.items() if k.endswith("_s")))


def stage_rate(timing_path: Path) -> float | None:
    """Member-iterations per second of the stage that wrote ``timing_path`` (None: no timing file, or no
    lottery members in its results)."""
    if not timing_path.exists():
        return None
    seconds, iterations = stage_seconds(read_json(timing_path)), stage_iterations(timing_path)
    return iterations / seconds if iterations and seconds else None


def conv_rates_note(results: Path, lenet_timing: Path) -> str:
    """'the conv nets train at A-B member-iterations per second in the `cifar_conv` stages against LeNet's C
    here (*Run times*)', from the timing files ('' when they are missing)."""
    conv = [rate for path in sorted((results / "cifar").glob("conv*_timing.json")) if (rate := stage_rate(path))]
    lenet = stage_rate(lenet_timing)
    if not conv or lenet is None:
        return ""
    return (f"the conv nets train at {min(conv):,.0f}-{max(conv):,.0f} member-iterations per second in the "
            f"`cifar_conv` stages against LeNet's {lenet:,.0f} here (measured, see *Run times*)")
