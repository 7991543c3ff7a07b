"""One stage invocation as the runner (``lth run``) hands it to a stage body: the params file, the positional
items, and the folders results, checkpoints, artifacts and prepared data live in. The library never names a
results folder itself; it writes where ``StageRun`` says."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lth.config import Loaded, as_dict, load_section


@dataclass(frozen=True)
class StageRun:
    """One stage invocation: the params file, the positional items (``cifar conv2 plain`` -> ("conv2",
    "plain")), and the folders results, checkpoints, artifacts and prepared data live in."""
    params: Path = Path("params.yaml")
    items: tuple[str, ...] = ()
    results: Path = Path("results")
    checkpoints: Path = Path("checkpoints")
    artifacts: Path = Path("artifacts")
    data: Path = Path("data")

    def section(self, name: str, schema: type, variants: bool = False) -> Loaded:
        """Params section ``name`` validated by ``schema`` and resolved for the active profile."""
        return load_section(self.params, name, schema, variants=variants)

    def dataset(self, name: str) -> Path:
        """The prepared dataset file ``name`` (written by the ``data`` stage)."""
        return self.data / f"{name}.pt"


def config_record(loaded: Loaded, config: Any = None) -> dict[str, Any]:
    """The profile and resolved config a results file records (``config`` for one variant of a section)."""
    return {"profile": loaded.profile, "config": as_dict(loaded.config if config is None else config)}
