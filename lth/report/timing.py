"""Run-time section of the report: each stage's wall time from its timing file, with the host it ran on."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from lth.report.common import Section, markdown_table, read_json
from lth.report.rates import stage_iterations, stage_seconds

def _run_name(path: Path, results: Path) -> str:
    """What a timing file times, named by where its results lie (``mnist`` for results/mnist/timing.json,
    ``cifar/conv2_plain`` for results/cifar/conv2_plain_timing.json): read from the path alone, so a new
    experiment needs no entry here."""
    relative = path.relative_to(results)
    stem = relative.stem.removesuffix("timing").removesuffix("_")
    return "/".join(part for part in (relative.parent.as_posix(), stem) if part)


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
        iterations = stage_iterations(path)
        rate = f"{iterations:,} ({iterations / seconds:,.0f}/s)" if iterations and seconds else "–"
        rows.append([f"`{_run_name(path, results)}`", f"{seconds:.0f}", rate, timing.get("device", "–"),
                     _host(timing)])
    rows.append(["all of them", f"{total:.0f} ({total / 60:.1f} min)", "", "", ""])
    table = markdown_table(["results", "seconds", "member-iterations trained (rate)", "device", "host"], rows)
    return Section("## Run times\n\nWall time of each training stage's last run (its timing file), named by the "
                   "results it wrote under `results/` (`dvc.yaml` names the stage writing them; the data and "
                   "report stages take seconds) and, for the lottery stages, how many training iterations its "
                   "members ran in all (evaluations included in the rate). Speeds differ several-fold between "
                   "hosts (with and without AVX-512): compare within one host. docs/paper-profile-cost.md "
                   f"turns such rates into what the paper profile costs.\n\n{table}\n")
