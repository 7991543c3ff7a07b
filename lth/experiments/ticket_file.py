"""The file the ``mnist_v1`` stage keeps for the anatomy stage: every trial's initial weights and every IMP
round's ticket masks as packed bits (8 masks per byte), saved byte-reproducibly with ``torch.save``."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from lth.io import load_torch, save_torch_atomic


def pack_masks(masks: dict[str, torch.Tensor], names: list[str]) -> dict[str, torch.Tensor]:
    """Each layer's masks [T, out, in] as packed bits, uint8 [T, ceil(out * in / 8)] (8x smaller than bytes)."""
    return {n: torch.from_numpy(np.packbits(masks[n].flatten(1).cpu().numpy().astype(bool), axis=1))
            for n in names}


def unpack_masks(bits: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """``pack_masks``' inverse for one layer: packed bits [..., nbytes] -> boolean masks [..., *shape]."""
    count = int(np.prod(shape))
    flat = np.unpackbits(bits.numpy(), axis=-1, count=count).astype(bool)
    return torch.from_numpy(flat.reshape(*bits.shape[:-1], *shape))


def write_tickets(path: Path, tickets: dict[str, torch.Tensor]) -> None:
    """Write the anatomy's inputs (``MnistV1Lottery.tickets``) as one file, atomically and byte-reproducibly."""
    save_torch_atomic(path, tickets)


def read_tickets(path: Path) -> dict[str, torch.Tensor]:
    """A tickets file as written by ``write_tickets`` (tensors only; nothing is unpickled)."""
    return load_torch(path)
