"""The device a stage computes on, its numerical settings, and the record of both in every result.

CUDA when present, else the CPU; ``LTH_DEVICE`` overrides. The device is deliberately not a param, so moving
between machines does not invalidate DVC's cache; it is recorded in every result.
"""
from __future__ import annotations

import importlib.metadata
import os
import platform
import re
from typing import Any

import torch

from lth.errors import EnvironmentSettingError

DEVICE_ENV = "LTH_DEVICE"
_DEVICE_PATTERN = re.compile(r"^(cpu|cuda(:\d+)?)$")


def pick_device() -> torch.device:
    """CUDA when present, else CPU; ``LTH_DEVICE`` (``cpu``, ``cuda`` or ``cuda:N``) overrides.

    A value that is not one of those, or names a GPU this machine lacks, raises ``EnvironmentSettingError``.
    """
    requested = os.environ.get(DEVICE_ENV, "").strip()
    if not requested:
        if not torch.cuda.is_available():
            return torch.device("cpu")
        return torch.device("cuda", torch.cuda.current_device())    # a torchrun rank's own GPU (lth.ranks)
    if not _DEVICE_PATTERN.match(requested):
        raise EnvironmentSettingError(f"{DEVICE_ENV}={requested!r}: must be cpu, cuda or cuda:N "
                                      "(or unset: CUDA when present, else cpu)")
    device = torch.device(requested)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise EnvironmentSettingError(f"{DEVICE_ENV}={requested!r} but CUDA is not available on this "
                                          "machine; unset it or use LTH_DEVICE=cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise EnvironmentSettingError(f"{DEVICE_ENV}={requested!r}: this machine has "
                                          f"{torch.cuda.device_count()} CUDA device(s) (cuda:0 ...)")
    return device


def configure_numerics(device: torch.device, allow_tf32: bool = False) -> dict[str, Any] | None:
    """Set the device's numerical modes once per stage and return them for the results (None on a CPU, where
    nothing is configurable; a record that TF32 was asked for and not applied when it was).

    On CUDA: TF32 off unless asked for (it changes float32 products' rounding; PyTorch's own default lets
    cuDNN use it), cuDNN picks its fastest kernels (``benchmark``; the models use no op whose backward is
    nondeterministic: max- and adaptive average pooling to 1x1, convolutions, batch norm)."""
    if device.type != "cuda":
        return {"tf32": False, "tf32_requested": True} if allow_tf32 else None
    torch.backends.cuda.matmul.allow_tf32 = allow_tf32
    torch.backends.cudnn.allow_tf32 = allow_tf32
    torch.backends.cudnn.benchmark = True
    return {"tf32": allow_tf32, "cudnn_benchmark": True, "gpu": torch.cuda.get_device_name(device)}


def device_description(device: torch.device) -> str:
    """Human-readable name of the device (GPU model or CPU with its thread count)."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def installed_version(package: str) -> str:
    """``package``'s installed version without its local tag (``0.28.0+cu130`` -> ``0.28.0``), read from its
    metadata: importing torchvision only for its version cost every stage ~1.5 s (it imports
    ``torch._dynamo``); "-" where it is not installed."""
    try:
        return importlib.metadata.version(package).split("+")[0]
    except importlib.metadata.PackageNotFoundError:
        return "-"


def environment_record(device: torch.device, numerics: dict[str, Any] | None = None) -> dict[str, Any]:
    """Device kind and library versions (recorded in every result); ``numerics`` adds the device's
    numerical settings where they matter (on CUDA: TF32, cuDNN determinism; see ``lth.device``)."""
    import numpy
    record = {
        "device": device.type,
        "torch": torch.__version__.split("+")[0],
        "torchvision": installed_version("torchvision"),
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }
    if numerics:
        record["numerics"] = numerics
    return record
