"""Run-time facts that are not params: the device, library versions, the code's commit, safe writes."""
from __future__ import annotations

import ctypes
import ctypes.util
import io
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import torch

DEVICE_ENV = "LTH_DEVICE"


def pick_device() -> torch.device:
    """CUDA when present, else CPU; ``LTH_DEVICE`` (e.g. ``cpu``, ``cuda:1``) overrides.

    The device is deliberately not a param, so moving between machines does not invalidate DVC's cache.
    """
    requested = os.environ.get(DEVICE_ENV, "").strip()
    if requested:
        device = torch.device(requested)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise SystemExit(f"{DEVICE_ENV}={requested!r} but CUDA is not available on this machine; "
                             "unset it or use LTH_DEVICE=cpu")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


_HEAP_TUNED = False


def keep_large_allocations_on_heap() -> bool:
    """Ask glibc to serve large allocations from its heap and keep freed memory, once per process.

    By default glibc maps every allocation above ~32 MB fresh from the kernel and unmaps it when freed, so
    each training step of a big population (weight gradients, activations of K members) pays page faults
    on the whole tensor again: measured on this 2-core VM, copying a 34 MB tensor took 9.7 ms, of which
    the copy itself is <1 ms, and LeNet-300-100 at K = 64 / 128 ran at 1,110 model-steps/s without this
    and 1,490-1,520 with it. The cost is that the process keeps its peak memory until it exits. Returns
    whether the setting took effect (False off glibc, e.g. on macOS; nothing else changes there).
    """
    global _HEAP_TUNED
    if _HEAP_TUNED:
        return True
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        return False
    if mallopt is None:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    _HEAP_TUNED = bool(mallopt(m_mmap_threshold, 1 << 30)) and bool(mallopt(m_trim_threshold, 1 << 30))
    return _HEAP_TUNED


def device_description(device: torch.device) -> str:
    """Human-readable name of the device (GPU model or CPU with its thread count)."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def environment_record(device: torch.device) -> dict[str, Any]:
    """What a result was computed with: device kind and library versions (recorded in every result)."""
    from lth.torchvision_compat import torchvision
    import numpy
    return {
        "device": device.type,
        "torch": torch.__version__.split("+")[0],
        "torchvision": torchvision.__version__.split("+")[0],
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


def code_commit(repo: Path | None = None) -> str:
    """The git commit of the code, with ``+dirty`` if tracked code differs from it; ``unknown`` outside git."""
    cwd = str(repo or Path.cwd())
    try:
        head = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=cwd, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "lth", "stages",
                                "params.yaml", "dvc.yaml"], cwd=cwd, capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON via a temporary file and rename, so a failed run never leaves a half-written result."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(payload, indent=1, sort_keys=True, allow_nan=True) + "\n"
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
        handle.write(text)
        tmp = Path(handle.name)
    os.replace(tmp, path)


def save_torch_atomic(path: Path, payload: Any) -> None:
    """``torch.save`` via a temporary file and rename (datasets, checkpoints).

    Serialised in memory first: torch names the archive's records after the file it writes to, so saving
    to a randomly named temporary file would make identical data produce different bytes (and DVC would
    see a changed dataset on every run).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as handle:
        handle.write(buffer.getbuffer())
        tmp = Path(handle.name)
    os.replace(tmp, path)
