"""XOR sensitivity: the pruning table (and the random-init rates at its pruned widths) at each of the settings
closest to the paper's random-init table, so that the report can show how much the ticket effect depends on the
choices the paper leaves open.

The settings come from the calibration (results/xor/calibration.json), ranked by ``lth.xor_target`` on the
random-init table only: the pruning table is never a target. Everything else (trials, iterations, seeds, pruning)
is the `xor` section's, and the tables are computed by the `xor` stage's code (lth/shared/xor_tables.py), so the
closest setting's row repeats the `xor` stage's numbers.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lth.config import ConfigError, as_dict, setting
from lth.io import ContentError, read_json_file
from lth.shared.stage import NUMERICS, Compute, write_results, write_timing
from lth.shared.xor_tables import XorConfig, pruning_table, random_init_table
from lth.stage_run import StageRun
from lth.xor_target import CHOICE_KEYS, calibration_distance, ranked

# what the sensitivity takes from the `xor` section (the calibrated choices come from each setting)
XOR_KEYS = ("trials", "iterations", "momentum", "zero_loss_threshold", "seed", "pruning")


@dataclass(frozen=True)
class XorSensitivityConfig:
    """How many of the calibration's closest settings get the pruning table."""
    settings: int = setting(5, "the calibration's closest settings (on the random-init table) whose pruning "
                            "table is run", min=1)


def closest(calibration: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """The ``count`` settings of a calibration closest to the paper's random-init table (only settings measured
    at the calibration's full trial count are ranked)."""
    final = ranked(calibration["settings"])
    if len(final) < count:
        raise ConfigError(f"params.yaml: xor_sensitivity.settings = {count}: the calibration ranked only "
                          f"{len(final)} settings (xor_calibration.finalists); ask for at most that many")
    return final[:count]


def check_same_experiment(calibration: dict[str, Any], xor: XorConfig) -> None:
    """Refuse a calibration whose nets trained for another length or judged zero loss otherwise than `xor`'s
    (its ranking would be of another experiment)."""
    ran = calibration["config"]
    for key in ("iterations", "zero_loss_threshold"):
        if ran[key] != getattr(xor, key):
            raise ConfigError(f"params.yaml: xor.{key} = {getattr(xor, key)} but results/xor/calibration.json ran "
                              f"xor_calibration.{key} = {ran[key]} (profile {calibration['profile']}): make them "
                              "equal and re-run `dvc repro xor_calibration`")


def setting_config(xor: XorConfig, choice: dict[str, Any]) -> XorConfig:
    """The `xor` config with a calibration setting's choices, random-init widths at the pruning targets."""
    chosen = {key: choice[key] for key in CHOICE_KEYS}
    chosen["init_std"] = chosen["init_std"] or xor.init_std          # 0 in the calibration where unused
    return dataclasses.replace(xor, **chosen, hidden_units=sorted(set(xor.pruning.targets), reverse=True))


def expect_settings(calibration: dict[str, Any]) -> None:
    """``ContentError`` unless a calibration's results hold its config and settings with choices and rates."""
    try:
        calibration["config"]["iterations"], calibration["profile"]
        for s in calibration["settings"]:
            [s[key] for key in CHOICE_KEYS]
    except (KeyError, TypeError):
        raise ContentError("has no config, profile or settings[] with the calibrated choices") from None


def read_calibration(path: Path) -> dict[str, Any]:
    """The calibration's results, or a one-line error naming the file and the stage that writes it."""
    return read_json_file(path, produced_by="xor_calibration", expect=expect_settings)


SECTIONS = {"xor_sensitivity": XorSensitivityConfig, "xor": XorConfig, **NUMERICS}


def stage(run: StageRun) -> str:
    """The pruning table at each of the closest settings; writes results/xor/sensitivity.json and its timing."""
    loaded = run.section("xor_sensitivity", XorSensitivityConfig)
    xor = run.section("xor", XorConfig).config
    calibration = read_calibration(run.results / "xor" / "calibration.json")
    check_same_experiment(calibration, xor)
    compute, start, rows, seconds = Compute.pick(run), time.perf_counter(), [], []
    for rank, choice in enumerate(closest(calibration, loaded.config.settings), 1):
        began = time.perf_counter()
        config = setting_config(xor, choice)
        worst, mean = calibration_distance(choice["rates"])
        rows.append({"rank": rank, **{key: choice[key] for key in CHOICE_KEYS}, "largest_gap": worst,
                     "mean_gap": mean, "random_init": random_init_table(config, compute.device, progress=False),
                     "pruning": pruning_table(config, compute.device, progress=False)})
        seconds.append(round(time.perf_counter() - began, 1))
    base = {key: as_dict(xor)[key] for key in XOR_KEYS}
    write_results(run.results / "xor" / "sensitivity.json", loaded, compute, xor=base,
                  calibration_profile=calibration["profile"], settings=rows)
    write_timing(run.results / "xor" / "sensitivity_timing.json", start, compute.device,
                 seconds_per_setting=seconds)
    return f"pruning tables at the {len(rows)} closest settings, {xor.trials} trials each, on {compute.device.type}"
