"""The file the ``mnist_v1`` stage keeps for the anatomy stage: every trial's initial weights and every IMP
round's ticket masks as packed bits (8 masks per byte), saved byte-reproducibly with ``torch.save``."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from lth.io import ContentError, expect_tensors, read_torch_file, rerun, save_torch_atomic


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


def check_tickets(tickets: object) -> None:
    """Raise ``ContentError`` unless ``tickets`` is what ``write_tickets`` writes: for each layer, initial
    weights float [T, out, in] and packed masks uint8 [rounds, T, ceil(out * in / 8)], the same rounds and
    trials in every layer."""
    if not isinstance(tickets, dict):
        raise ContentError(f"holds a {type(tickets).__name__}, not the mapping of tensors a tickets file is")
    names = sorted(str(k).removeprefix("init/") for k in tickets if str(k).startswith("init/"))
    if not names:
        raise ContentError("holds no init/<layer> weights")
    expect_tensors(tickets, {**{f"init/{n}": ("float", 3) for n in names},
                             **{f"masks/{n}": ("bits", 3) for n in names}}, "tickets file")
    rounds, trials = tickets[f"masks/{names[0]}"].shape[:2]
    for n in names:
        init, bits = tickets[f"init/{n}"], tickets[f"masks/{n}"]
        wanted = [rounds, init.shape[0], -(-init.shape[1] * init.shape[2] // 8)]
        if list(bits.shape) != wanted or init.shape[0] != trials or rounds == 0:
            raise ContentError(f"masks/{n} has shape {list(bits.shape)}, not {wanted} (rounds, trials, packed "
                               f"bytes of init/{n} {list(init.shape)})")


def read_tickets(path: Path) -> dict[str, torch.Tensor]:
    """A tickets file as written by ``write_tickets`` (tensors only; nothing is unpickled); a missing,
    damaged or wrong-shaped one stops the reading stage with one line naming it and ``mnist_v1`` to re-run."""
    return read_torch_file(path, expect=check_tickets, fix=rerun("mnist_v1"))
