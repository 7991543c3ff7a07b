"""Files the stages write and read: atomic writes (results, datasets, checkpoints, figures) and safe loads.

Every write goes to a temporary file in the target folder and is renamed over the target, so a failed or
killed run never leaves a half-written file; the temporary file is removed when the write fails, and the
result gets the usual 0644 mode. Loads never unpickle arbitrary objects (``weights_only=True``).
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

FILE_MODE = 0o644


def write_bytes_atomic(path: Path, write: Callable[[Any], None], text: bool = False) -> None:
    """Create ``path`` through ``write(handle)`` on a temporary file that is renamed over it on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile("w" if text else "wb", dir=path.parent, delete=False, suffix=".tmp",
                                         prefix=f".{path.name}.")
    tmp = Path(handle.name)
    try:
        with handle:
            write(handle)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file atomically (report pages)."""
    write_bytes_atomic(path, lambda handle: handle.write(text), text=True)


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON atomically, so a failed run never leaves a half-written result."""
    write_text_atomic(path, json.dumps(payload, indent=1, sort_keys=True, allow_nan=True) + "\n")


def save_torch_atomic(path: Path, payload: Any) -> None:
    """``torch.save`` atomically (datasets, checkpoints).

    Serialised in memory first: torch names the archive's records after the file it writes to, so saving
    to a randomly named temporary file would make identical data produce different bytes (and DVC would
    see a changed dataset on every run).
    """
    import torch
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_bytes_atomic(path, lambda handle: handle.write(buffer.getbuffer()))


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes (md5 to check originals against torchvision, sha256 to tie checkpoints
    to the exact data), read in 1 MiB blocks."""
    import hashlib
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_torch(source: Path | io.BytesIO, map_location: Any = "cpu") -> Any:
    """``torch.load`` of tensors and plain containers only (``weights_only=True``: nothing is unpickled)."""
    import torch
    return torch.load(source, map_location=map_location, weights_only=True)
