"""Run-time section of the report: each stage's wall time from its timing file, with the host it ran on."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from lth.report.common import Section, markdown_table, read_json
from lth.report.rates import PER_NET, member_iterations, results_of, stage_seconds

DEEP = ("vgg19", "resnet20")


def _stage_name(path: Path, results: Path) -> str:
    relative = path.relative_to(results)
    if relative.parts[0] == "cifar":
        net, _, variant = relative.stem.removesuffix("_timing").partition("_")
        return f"cifar_{'deep' if net in DEEP else 'conv'}@{net}-{variant}"
    if relative.parts[0] in ("sweeps", "rewinding", "double_descent"):
        stage = "sweep" if relative.parts[0] == "sweeps" else relative.parts[0]
        return f"{stage}@{relative.stem.removesuffix('_timing')}"
    if relative.parts[0] in PER_NET:
        return f"{relative.parts[0]} ({relative.stem.removesuffix('_timing')})"
    if relative.parts[0] == "transformer":
        return "transformer_tickets"
    if relative.parts[0] == "xor" and relative.name != "timing.json":      # calibration_timing.json, ...
        return "xor_" + relative.stem.removesuffix("_timing")
    return relative.parts[0]


def _host(timing: dict[str, Any]) -> str:
    host = timing.get("host")
    if not host:
        return "not recorded"
    return f"{host['cpu']}, {host['cores']} cores, {'AVX-512' if host['avx512'] else 'no AVX-512'}"


def timing_section(results: Path) -> Section | None:
    """One row per stage that wrote a timing file: seconds, device and host kind, the measured training rate
    (member-iterations per second, lottery stages), and their total."""
    files = sorted(results.glob("*/*timing.json"))
    if not files:
        return None
    rows, total = [], 0.0
    for path in files:
        timing = read_json(path)
        seconds = stage_seconds(timing)
        total += seconds
        source = results_of(path)
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
                   "hosts (with and without AVX-512): compare within one host. docs/paper-profile-cost.md "
                   f"turns such rates into what the paper profile costs.\n\n{table}\n")
