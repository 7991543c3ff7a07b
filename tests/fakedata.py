"""Tiny datasets in the real on-disk formats, laid out like ../shared/datasets, and their checksums.

MNIST-like sets are the original idx.gz archives; CIFAR-10 is, by default, the mirror's binary-parts layout
(``cifar10/<batch>.part1.bin.xz``, ``.part2.bin.xz``, ``filenames_*.txt``, ``batches.meta``), so tests exercise
the library's rebuild; ``make_cifar10_ready`` writes a ready-made ``cifar10/cifar-10-batches-py/`` instead.
The checksums of these files replace torchvision's in ``lth.datasets._TEST_MD5``: tests patch it in-process,
and ``write_checksum_patch`` writes a ``sitecustomize.py`` that patches it in subprocesses (dvc repro).
"""
from __future__ import annotations

import gzip
import hashlib
import json
import lzma
import pickle
import struct
from pathlib import Path

import numpy as np

MNIST_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
               "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
CIFAR_BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
CIFAR_LABELS = {**{f"data_batch_{k}": f"training batch {k} of 5" for k in range(1, 6)},
                "test_batch": "testing batch 1 of 1"}
# The real parts' compression (README.txt of the mirror): xz, delta filter (distance 32) + LZMA2.
XZ_FILTERS = [{"id": lzma.FILTER_DELTA, "dist": 32}, {"id": lzma.FILTER_LZMA2, "preset": 6}]


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def write_idx_images(path: Path, images: np.ndarray) -> None:
    with gzip.open(path, "wb") as handle:
        handle.write(struct.pack(">IIII", 2051, *images.shape) + images.astype(np.uint8).tobytes())


def write_idx_labels(path: Path, labels: np.ndarray) -> None:
    with gzip.open(path, "wb") as handle:
        handle.write(struct.pack(">II", 2049, len(labels)) + labels.astype(np.uint8).tobytes())


def make_mnist_like(mirror: Path, folder: str, train: int = 60, test: int = 20, seed: int = 0) -> dict[str, str]:
    """Write ``mirror/<folder>/raw/*.gz``; labels cycle 0..9; returns {filename: md5}."""
    rng = np.random.default_rng(seed)
    raw = mirror / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    md5s = {}
    for split, count in (("train", train), ("test", test)):
        images_name, labels_name = MNIST_FILES[split]
        write_idx_images(raw / images_name, rng.integers(0, 256, (count, 28, 28)))
        write_idx_labels(raw / labels_name, np.arange(count) % 10)
        md5s.update({images_name: _md5(raw / images_name), labels_name: _md5(raw / labels_name)})
    return md5s


def cifar_records(per_batch: int = 12, test: int = 20, seed: int = 0) -> dict[str, list[tuple[int, bytes]]]:
    """The fake CIFAR-10 images: {batch: [(label, 3072 pixel bytes: R, G, B planes of 32x32)]}; labels cycle
    0..9 in each batch. Deterministic, so tests regenerate what a mirror was made of."""
    rng = np.random.default_rng(seed)
    return {batch: [(i % 10, rng.integers(0, 256, 3072, dtype=np.uint8).tobytes())
                    for i in range(test if batch == "test_batch" else per_batch)] for batch in CIFAR_BATCHES}


def cifar_filenames(records: dict[str, list]) -> dict[str, list[str]]:
    """Fake per-image file names, unique over the whole set, per batch in record order."""
    return {batch: [f"{batch}_image_{i:04d}.png" for i in range(len(items))] for batch, items in records.items()}


def cifar_meta() -> bytes:
    """A batches.meta pickle (plain dict, as the original)."""
    return pickle.dumps({"label_names": [f"class{i}" for i in range(10)], "num_cases_per_batch": 12,
                         "num_vis": 3072}, protocol=2)


def write_xz(path: Path, payload: bytes) -> None:
    path.write_bytes(lzma.compress(payload, format=lzma.FORMAT_XZ, filters=XZ_FILTERS))


def make_cifar10(mirror: Path, per_batch: int = 12, test: int = 20, seed: int = 0) -> dict[str, str]:
    """Write ``mirror/cifar10/`` in the binary-parts layout; returns the md5s of the rebuilt pickles.

    Each batch is its records (label byte + pixels) split in two xz parts. The md5s are those of the
    python-version files the records stand for, serialised by the library's ``cifar_python_batch`` (the
    real batches' md5s pin that serialiser; these tests check the rebuilt files' content independently).
    """
    from lth.datasets import cifar_python_batch
    records = cifar_records(per_batch, test, seed)
    filenames = cifar_filenames(records)
    folder = mirror / "cifar10"
    folder.mkdir(parents=True, exist_ok=True)
    md5s = {}
    for batch, items in records.items():
        raw = b"".join(bytes([label]) + pixels for label, pixels in items)
        half = len(items) // 2 * 3073
        write_xz(folder / f"{batch}.part1.bin.xz", raw[:half])
        write_xz(folder / f"{batch}.part2.bin.xz", raw[half:])
        names = [name.encode() for name in filenames[batch]]
        md5s[batch] = hashlib.md5(cifar_python_batch(raw, names, CIFAR_LABELS[batch])).hexdigest()
    for split, batches in (("train", CIFAR_BATCHES[:5]), ("test", CIFAR_BATCHES[5:])):
        (folder / f"filenames_{split}.txt").write_text("".join(f"{n}\n" for b in batches for n in filenames[b]))
    (folder / "batches.meta").write_bytes(cifar_meta())
    md5s["batches.meta"] = _md5(folder / "batches.meta")
    return md5s


def make_cifar10_ready(mirror: Path, per_batch: int = 12, test: int = 20, seed: int = 0) -> dict[str, str]:
    """Write a ready-made ``mirror/cifar10/cifar-10-batches-py/`` (Python 3 pickles, same content as
    ``make_cifar10``'s records); returns their md5s."""
    records = cifar_records(per_batch, test, seed)
    filenames = cifar_filenames(records)
    folder = mirror / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    md5s = {}
    for batch, items in records.items():
        # The real batches are Python 2 pickles whose keys torchvision reads as str (encoding="latin1").
        content = {"batch_label": CIFAR_LABELS[batch], "labels": [label for label, _ in items],
                   "data": np.frombuffer(b"".join(p for _, p in items), dtype=np.uint8).reshape(len(items), 3072),
                   "filenames": filenames[batch]}
        (folder / batch).write_bytes(pickle.dumps(content))
        md5s[batch] = _md5(folder / batch)
    (folder / "batches.meta").write_bytes(cifar_meta())
    md5s["batches.meta"] = _md5(folder / "batches.meta")
    return md5s


def make_mirror(mirror: Path, cifar_ready: bool = False) -> Path:
    """All three datasets in a mirror folder; returns the path of ``md5.json``, their checksums
    ``{dataset: {filename: md5}}`` (the table tests put into ``lth.datasets._TEST_MD5``)."""
    md5s = {"mnist": make_mnist_like(mirror, "MNIST"), "fashion_mnist": make_mnist_like(mirror, "FashionMNIST", seed=1),
            "cifar10": make_cifar10_ready(mirror) if cifar_ready else make_cifar10(mirror)}
    table = mirror / "md5.json"
    table.write_text(json.dumps(md5s))
    return table


_PATCH = '''"""Tests only (written by tests/fakedata.py): the fake data's checksums for lth.datasets, in every Python
process started with this folder on PYTHONPATH (the end-to-end test's dvc repro and its stages)."""
import importlib.abc
import importlib.machinery
import json
import sys

_TABLE = json.loads({table!r})


class _PatchChecksums(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != "lth.datasets":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            module._TEST_MD5.update(_TABLE)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _PatchChecksums())
'''


def write_checksum_patch(folder: Path, table: Path) -> Path:
    """Write ``folder/sitecustomize.py`` that fills ``lth.datasets._TEST_MD5`` from the checksum table
    ``table`` (``make_mirror``'s md5.json) as the module is imported; returns ``folder``, for PYTHONPATH."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(_PATCH.format(table=Path(table).read_text()))
    return folder


def prepared_mnist(train: int = 70, validation: int = 10, test: int = 20) -> dict:
    """A prepared MNIST-like dataset in the data stage's format (uint8 [N, 1, 28, 28], labels, the split)."""
    import torch
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (train + validation, 1, 28, 28), generator=generator, dtype=torch.uint8)
    return {"train_images": images, "train_labels": torch.arange(train + validation, dtype=torch.uint8) % 10,
            "test_images": images[:test], "test_labels": torch.arange(test, dtype=torch.uint8) % 10,
            "train_index": torch.arange(validation, train + validation), "validation_index": torch.arange(validation),
            "info": {"dataset": "mnist"}}


def write_prepared_mnist(path: Path, **sizes: int) -> None:
    """``prepared_mnist(**sizes)`` saved at ``path`` (folders made), as the data stage writes it."""
    import torch
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(prepared_mnist(**sizes), path)
