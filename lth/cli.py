"""Shared command-line plumbing of the stage scripts: --help, one-line errors, timing summary."""
from __future__ import annotations

import argparse
import sys
import time
from typing import Callable

from lth.errors import ConfigError, DataError, EnvironmentSettingError


def stage_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every stage has (``--params``)."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    return parser


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
