"""Report figures rendered by forked processes while the report goes on building its sections.

Laying out and rendering a figure (``tight_layout`` and ``savefig``) is most of the report stage's time, and the
report builds its ~40 figures one after another on one core. Inside ``figures_in_parallel`` each figure, once
drawn, is rendered and written by a forked copy of the process (at most one per core at a time), which has the
figure exactly as the parent drew it, so the file's bytes are those of rendering it in place. Outside it (tests
calling one section, a platform without ``fork``) figures are written where they are drawn.
"""
from __future__ import annotations

import contextlib
import os
import sys
import traceback
from pathlib import Path
from typing import Callable, Iterator

_active: "_Writers | None" = None


class _Writers:
    """The forked writers still running (pid -> file) and the files whose writer failed."""

    def __init__(self, limit: int):
        self.limit, self.running, self.failed = limit, {}, []

    def submit(self, path: Path, write: Callable[[], None]) -> None:
        """Fork a process that runs ``write`` and exits, once fewer than ``limit`` are running."""
        while len(self.running) >= self.limit:
            self.reap()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:                                    # the writer: never returns into the report
            code = 1
            try:
                write()
                code = 0
            except BaseException:                       # noqa: BLE001 - reported through the exit status
                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(code)
        self.running[pid] = path

    def reap(self) -> None:
        """Wait for one writer to end; note its file if it failed."""
        pid, status = os.wait()
        path = self.running.pop(pid, None)
        if path is not None and os.waitstatus_to_exitcode(status) != 0:
            self.failed.append(path)

    def finish(self) -> list[Path]:
        """Wait for every writer; the files whose writer failed."""
        while self.running:
            self.reap()
        return self.failed


def write_figure(path: Path, write: Callable[[], None]) -> None:
    """Run ``write`` (which writes ``path``) in a forked writer inside ``figures_in_parallel``, here otherwise."""
    if _active is None:
        write()
    else:
        _active.submit(path, write)


def writer_limit() -> int:
    """Writers at a time: one per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@contextlib.contextmanager
def figures_in_parallel(limit: int | None = None) -> Iterator[None]:
    """Within the block, ``write_figure`` hands figures to at most ``limit`` forked writers (default one per
    core); leaving it waits for all of them, and a failed figure is an error naming its file (the writer's
    traceback is on stderr). Single-process where ``fork`` is missing or ``limit`` is 1."""
    global _active
    limit = writer_limit() if limit is None else limit
    if _active is not None or not hasattr(os, "fork") or limit <= 1:
        yield
        return
    _active = writers = _Writers(limit)
    try:
        yield
    finally:
        _active = None
        failed = writers.finish()
    if failed:
        raise RuntimeError(f"figure(s) not written: {', '.join(str(p) for p in failed)} (the error is above)")
