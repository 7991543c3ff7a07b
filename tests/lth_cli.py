"""``lth run`` in this test process: the command's ``main`` with its own working folder, environment and captured
output, returned as a finished process. For the many tests of refusals that stop before any work; each new
interpreter cost seconds of imports (torch's above all). Tests that need the real process boundary (one line on
stderr and nothing else, the exit status) keep one subprocess case per file."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from lth import cli

ROOT = Path(__file__).resolve().parents[1]


def lth_run(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``lth run *args`` as if started in ``project`` with ``env`` added to the environment (LTH_DEVICE=cpu
    unless given): its exit status, stdout and stderr; the folder and environment are restored afterwards."""
    out, err = io.StringIO(), io.StringIO()
    saved_folder, saved_env = Path.cwd(), dict(os.environ)
    status = 0
    try:
        os.chdir(project)
        os.environ.update({"LTH_DEVICE": "cpu", **(env or {})})
        with redirect_stdout(out), redirect_stderr(err):
            try:
                cli.main(["run", *args])
            except SystemExit as exit_:
                status = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os.chdir(saved_folder)
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(["lth", "run", *args], status, out.getvalue(), err.getvalue())


def lth_process(project: Path, *args: str) -> subprocess.CompletedProcess:
    """``lth run *args`` as a real process started in ``project`` (LTH_DEVICE=cpu, this project on the path)."""
    return subprocess.run([sys.executable, "-m", "lth", "run", *args], cwd=project, capture_output=True, text=True,
                          env={**os.environ, "LTH_DEVICE": "cpu", "PYTHONPATH": str(ROOT)}, timeout=300)
