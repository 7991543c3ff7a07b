"""Tiny datasets in the real on-disk formats (MNIST idx.gz, CIFAR-10 python pickles), laid out like
../shared/datasets, plus the md5 override file that lets them pass torchvision's checks."""
from __future__ import annotations

import gzip
import hashlib
import json
import pickle
import struct
from pathlib import Path

import numpy as np

MNIST_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
               "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


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


def make_cifar10(mirror: Path, per_batch: int = 12, test: int = 20, seed: int = 0) -> dict[str, str]:
    """Write ``mirror/cifar10/cifar-10-batches-py/`` (5 train batches, test batch, meta); returns md5s."""
    rng = np.random.default_rng(seed)
    folder = mirror / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    md5s = {}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        count = test if name == "test_batch" else per_batch
        # The real batches are Python 2 pickles whose keys torchvision reads as str (encoding="latin1").
        batch = {"batch_label": name, "labels": [int(i % 10) for i in range(count)],
                 "data": rng.integers(0, 256, (count, 3072)).astype(np.uint8),
                 "filenames": [f"{i}.png" for i in range(count)]}
        (folder / name).write_bytes(pickle.dumps(batch))
        md5s[name] = _md5(folder / name)
    meta = {"label_names": [f"class{i}" for i in range(10)], "num_cases_per_batch": per_batch, "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))
    md5s["batches.meta"] = _md5(folder / "batches.meta")
    return md5s


def make_mirror(mirror: Path) -> Path:
    """All three datasets in a mirror folder; returns the path of the md5 override JSON."""
    md5s = {"mnist": make_mnist_like(mirror, "MNIST"), "fashion_mnist": make_mnist_like(mirror, "FashionMNIST", seed=1),
            "cifar10": make_cifar10(mirror)}
    override = mirror / "md5.json"
    override.write_text(json.dumps(md5s))
    return override
