"""The XOR calibration's target, the paper's random-init table (v1 §2), and the one rule that ranks a setting by
its distance to it: the calibration and sensitivity stages rank with it, the report shows it (so this module
lives below both wings and imports nothing)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Random initialisation: success rates (%) of finding the decision boundary (DB) / reaching zero loss (ZL).
XOR_RANDOM_INIT = {10: (98.5, 92.9), 8: (96.8, 87.5), 6: (92.5, 76.8), 4: (78.3, 55.3), 2: (49.1, 17.6)}

# What the calibration varies (the choices the paper leaves open), as a setting's keys.
CHOICE_KEYS = ("activation", "loss", "optimizer", "lr", "init", "init_std", "bias_init")


def calibration_distance(rates: dict[str, Any]) -> tuple[float, float]:
    """(largest, mean) |ours - paper| in pp over the paper's random-init table (DB and ZL at every width of
    ``rates``: {width: {db, zl, ...}})."""
    gaps = [abs(rates[str(w)][key] - paper[i]) for w, paper in XOR_RANDOM_INIT.items() if str(w) in rates
            for i, key in enumerate(("db", "zl"))]
    if not gaps:
        raise ValueError(f"no width of the paper's random-init table ({sorted(XOR_RANDOM_INIT)}) among {sorted(rates)}")
    return max(gaps), sum(gaps) / len(gaps)


def ranked(settings: Sequence[dict[str, Any]], rates_key: str = "rates") -> list[dict[str, Any]]:
    """The settings that have ``rates_key``, closest first: by the largest gap, then the mean gap, then grid
    order (a stable sort, so ties keep the grid's order)."""
    return sorted((s for s in settings if rates_key in s), key=lambda s: calibration_distance(s[rates_key]))


def same_choices(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two settings make the same open choices (``init_std`` only counts for the 'normal' init; a
    setting without ``loss`` trained on binary cross-entropy)."""
    for key in CHOICE_KEYS:
        if key == "init_std" and a.get("init") != "normal":
            continue
        default = {"loss": "bce", "bias_init": "zero"}.get(key)
        if a.get(key, default) != b.get(key, default):
            return False
    return True
