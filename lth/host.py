"""The kind of machine a stage ran on, for its timing file: speeds differ several-fold between CPUs with and
without AVX-512, so a time means little without it."""
from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


def host_record(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, Any]:
    """CPU model, core count and whether it has AVX-512 (and AVX-512 bfloat16), read from /proc/cpuinfo where
    there is one (Linux), else what ``platform`` knows."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "avx512": "avx512f" in flags, "avx512_bf16": "avx512_bf16" in flags}
