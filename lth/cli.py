"""The ``lth`` command (also ``python -m lth``): ``lth run <experiment> [item ...]`` runs one stage's body.

``lth run --help`` lists the experiments; ``lth run <experiment> --help`` shows its items and its params with
the papers' values. A user's mistake (a bad param, a missing or damaged input file, a bad environment variable)
is one line ``<stage>: error: ...`` and exit status 2; the stage's summary line ends with its wall time.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Callable, Sequence

from lth.errors import ConfigError, DataError, EnvironmentSettingError
from lth.params_help import params_table
from lth.stage_run import StageRun

# Stages whose body is not an experiment module's; every other name ``x`` runs lth.experiments.x.stage.
STAGE_MODULES = {"report": "lth.report.stage"}


def run_stage(name: str, body: Callable[[], str]) -> None:
    """Run a stage body; print its one-line summary with the wall time, or a one-line error and exit 2.

    Configuration, data and environment problems are the user's to fix, so they get one clear line, not a
    traceback.
    """
    start = time.perf_counter()
    try:
        summary = body()
    except (ConfigError, DataError, EnvironmentSettingError) as error:
        print(f"{name}: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"{name}: {summary} ({time.perf_counter() - start:.1f} s)")


def experiment_list() -> str:
    """The experiments, one per line, in the report's order (read from the registry, only for this help)."""
    registry = importlib.import_module("lth.registry")
    width = max(len(e.name) for e in registry.EXPERIMENTS)
    return "\n".join(f"  {e.name:<{width}}  {e.title} ({e.source})" for e in registry.EXPERIMENTS)


def stage_module(name: str) -> ModuleType:
    """The module whose ``stage()`` runs experiment ``name``; a one-line error naming the known ones if none."""
    module_name = STAGE_MODULES.get(name, f"lth.experiments.{name}")
    try:
        module = importlib.import_module(module_name) if name.isidentifier() else None
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        module = None
    if module is None or not hasattr(module, "stage"):
        print(f"lth run: error: no experiment {name!r}; the experiments are:\n{experiment_list()}", file=sys.stderr)
        raise SystemExit(2)
    return module


class _ParamsHelpParser(argparse.ArgumentParser):
    """An argument parser whose help ends with the experiment's params sections, read from the params file only
    when the help is shown (reading them for every run cost each stage process ~0.5 s)."""

    def __init__(self, params: Path, sections: dict[str, type], **kwargs):
        super().__init__(**kwargs)
        self.params, self.sections = params, sections

    def format_help(self) -> str:
        """The usual help, with the params sections as its epilog."""
        self.epilog = "\n\n".join(params_table(self.params, s, schema) for s, schema in self.sections.items())
        return super().format_help()


def experiment_parser(name: str, module: ModuleType, params: str) -> argparse.ArgumentParser:
    """``lth run <name>``'s arguments: its items (positional, with their choices) and ``--params``; its help
    shows the module's description and its params sections with the papers' values."""
    parser = _ParamsHelpParser(Path(params), getattr(module, "SECTIONS", {}), prog=f"lth run {name}",
                               description=module.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for item, choices, help_text in getattr(module, "ITEMS", ()):
        parser.add_argument(item, choices=choices, help=help_text)
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """``lth run <experiment> [item ...] [--params FILE]``; ``lth run --help`` lists the experiments."""
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = "usage: lth run <experiment> [item ...] [--params FILE]   (lth run <experiment> --help: its params)"
    asks_help = not argv or argv[0] in ("-h", "--help")
    if asks_help or (argv[0] == "run" and (len(argv) == 1 or argv[1] in ("-h", "--help"))):
        print(f"{usage}\n\nexperiments (dvc.yaml runs each as a stage):\n{experiment_list()}")
        raise SystemExit(0 if argv else 2)
    if argv[0] != "run":
        print(f"lth: error: unknown command {argv[0]!r}\n{usage}", file=sys.stderr)
        raise SystemExit(2)
    name = argv[1]
    module = stage_module(name)
    params = argv[argv.index("--params") + 1] if "--params" in argv[:-1] else "params.yaml"
    args = experiment_parser(name, module, params).parse_args(argv[2:])
    items = tuple(getattr(args, item) for item, _, _ in getattr(module, "ITEMS", ()))
    run_stage(" ".join((name, *items)), lambda: run_on_this_rank(module, StageRun(params=Path(args.params),
                                                                               items=items)))


def run_on_this_rank(module: ModuleType, run: StageRun) -> str:
    """The stage body, on this process's rank when ``torchrun`` started several (``lth.ranks``): every rank
    runs the whole body and trains its share of each population; rank 0 writes the results, the other ranks
    theirs to a scratch folder that is then deleted."""
    from lth import ranks
    ranks.start()
    if ranks.is_leader():
        return module.stage(run)
    with tempfile.TemporaryDirectory(prefix=f"lth-rank{ranks.world()[0]}-") as scratch:
        return module.stage(dataclasses.replace(run, results=Path(scratch)))
