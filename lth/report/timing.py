"""Run-time section of the report: each stage's wall time from its timing file, with the host it ran on."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from lth.report.common import Section, markdown_table, read_json

DEEP = ("vgg19", "resnet20")
PER_NET = ("deconstruct", "importance")      # stages writing <net>.json and <net>_timing.json per net


def _stage_name(path: Path, results: Path) -> str:
    relative = path.relative_to(results)
    if relative.parts[0] == "cifar":
        net, _, variant = relative.stem.removesuffix("_timing").partition("_")
        return f"cifar_{'deep' if net in DEEP else 'conv'}@{net}-{variant}"
    if relative.parts[0] in ("sweeps", "rewinding"):
        stage = "sweep" if relative.parts[0] == "sweeps" else "rewinding"
        return f"{stage}@{relative.stem.removesuffix('_timing')}"
    if relative.parts[0] in PER_NET:
        return f"{relative.parts[0]} ({relative.stem.removesuffix('_timing')})"
    if relative.name == "calibration_timing.json":
        return "xor_calibration"
    return relative.parts[0]


def _host(timing: dict[str, Any]) -> str:
    host = timing.get("host")
    if not host:
        return "not recorded"
    return f"{host['cpu']}, {host['cores']} cores, {'AVX-512' if host['avx512'] else 'no AVX-512'}"


def member_iterations(record: Any) -> int:
    """Training iterations of every member in a lottery results file (each member's ``stopped_iteration``)."""
    if isinstance(record, dict):
        own = sum(record["stopped_iteration"]) if isinstance(record.get("stopped_iteration"), list) else 0
        return own + sum(member_iterations(v) for k, v in record.items() if k != "stopped_iteration")
    if isinstance(record, list):
        return sum(member_iterations(v) for v in record)
    return 0


def _results_of(path: Path) -> Path | None:
    """The lottery results file a timing file belongs to (None for stages without one)."""
    if path.name == "timing.json":
        return path.with_name("lenet.json")
    if path.parent.name in ("cifar", "sweeps", "rewinding") + PER_NET:
        return path.with_name(path.name.removesuffix("_timing.json") + ".json")
    return None


def timing_section(results: Path) -> Section | None:
    """One row per stage that wrote a timing file: seconds, device and host kind, the measured training rate
    (member-iterations per second, lottery stages), and their total."""
    files = sorted(results.glob("*/*timing.json"))
    if not files:
        return None
    rows, total = [], 0.0
    for path in files:
        timing = read_json(path)
        seconds = timing.get("total_s", sum(v for k, v in timing.items() if k.endswith("_s")))
        total += seconds
        source = _results_of(path)
        iterations = 0
        if source is not None and source.exists():
            run = read_json(source)
            iterations = member_iterations(run)
        rate = f"{iterations:,} ({iterations / seconds:,.0f}/s)" if iterations and seconds else "–"
        rows.append([f"`{_stage_name(path, results)}`", f"{seconds:.0f}", rate, timing.get("device", "–"),
                     _host(timing)])
    rows.append(["all of them", f"{total:.0f} ({total / 60:.1f} min)", "", "", ""])
    table = markdown_table(["stage", "seconds", "member-iterations trained (rate)", "device", "host"], rows)
    return Section("## Run times\n\nWall time of each training stage's last run (its timing file; the data and "
                   "report stages take seconds) and, for the lottery stages, how many training iterations its "
                   "members ran in all (evaluations included in the rate). Speeds differ several-fold between "
                   "hosts (with and without AVX-512): compare within one host. README (*Cost of `profile: "
                   f"paper`*) turns such rates into what the paper profile costs.\n\n{table}\n")
