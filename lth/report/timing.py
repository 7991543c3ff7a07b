"""Run-time section of the report: each stage's wall time from its timing file, with the host it ran on."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from lth.report.common import Section, markdown_table, read_json

DEEP = ("vgg19", "resnet20")


def _stage_name(path: Path, results: Path) -> str:
    relative = path.relative_to(results)
    if relative.parts[0] == "cifar":
        net, _, variant = relative.stem.removesuffix("_timing").partition("_")
        return f"cifar_{'deep' if net in DEEP else 'conv'}@{net}-{variant}"
    if relative.name == "calibration_timing.json":
        return "xor_calibration"
    return relative.parts[0]


def _host(timing: dict[str, Any]) -> str:
    host = timing.get("host")
    if not host:
        return "not recorded"
    return f"{host['cpu']}, {host['cores']} cores, {'AVX-512' if host['avx512'] else 'no AVX-512'}"


def timing_section(results: Path) -> Section | None:
    """One row per stage that wrote a timing file: seconds, device and host kind, and their total."""
    files = sorted(results.glob("*/*timing.json"))
    if not files:
        return None
    rows, total = [], 0.0
    for path in files:
        timing = read_json(path)
        seconds = timing.get("total_s", sum(v for k, v in timing.items() if k.endswith("_s")))
        total += seconds
        rows.append([f"`{_stage_name(path, results)}`", f"{seconds:.0f}", timing.get("device", "–"), _host(timing)])
    rows.append(["all of them", f"{total:.0f} ({total / 60:.1f} min)", "", ""])
    table = markdown_table(["stage", "seconds", "device", "host"], rows)
    return Section("## Run times\n\nWall time of each training stage's last run (its timing file; the data and "
                   "report stages take seconds). Speeds differ several-fold between hosts (with and without "
                   f"AVX-512): compare within one host.\n\n{table}\n")
