"""Which code computed a result: its git commit (for the report) and a hash of its source (for checkpoints)."""
from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path


def code_sha256() -> str:
    """sha256 over the source of every ``lth`` module this process has imported (name and bytes): the
    version of the code that computes, so that a checkpoint written by other code is never resumed."""
    import sys
    digest = hashlib.sha256()
    for name in sorted(n for n in sys.modules if n == "lth" or n.startswith("lth.")):
        path = getattr(sys.modules[name], "__file__", None)
        if path:
            digest.update(name.encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return digest.hexdigest()


def code_commit(repo: Path | None = None) -> str:
    """The git commit of the code, with ``+dirty`` if tracked code differs from it; ``unknown`` outside git."""
    cwd = str(repo or Path.cwd())
    try:
        head = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=cwd, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "lth",
                                "params.yaml", "dvc.yaml"], cwd=cwd, capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")
