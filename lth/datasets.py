"""Datasets -> uint8 tensors with a fixed train/validation split (torchvision datasets, md5-checked).

Data come from torchvision's dataset classes, which verify torchvision's md5 checksums and download when
online. Offline, ``LTH_DATA_MIRROR`` names a folder laid out like ``../shared/datasets``:

- ``MNIST/raw/*.gz``, ``FashionMNIST/raw/*.gz``: the four original archives of each, copied as they are;
- ``cifar10/``: either the official binary batches as xz parts (``<batch>.part1.bin.xz``,
  ``<batch>.part2.bin.xz`` for ``data_batch_1..5`` and ``test_batch``, plus ``filenames_train.txt``,
  ``filenames_test.txt`` and ``batches.meta``), from which this module rebuilds the python-version pickles
  of ``cifar-10-batches-py/`` byte for byte; or ``cifar-10-batches-py/`` itself, copied.

Nothing from the mirror is ever run or imported, and this module unpickles nothing: the mirror is data
only. The trust anchor is torchvision's own md5 table: every file placed in the data root (copied or
rebuilt) must match it before torchvision reads it, and a mismatch stops the stage with one line naming
the file and the md5 expected. All writes are atomic (``lth.io``).

Tests replace torchvision's checksums through ``_TEST_MD5``, a module attribute patched in-process (a
test's monkeypatch, or a ``sitecustomize`` the end-to-end test puts on its subprocesses' path); no
environment variable, file or params setting reaches it.
"""
from __future__ import annotations

import hashlib
import lzma
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lth.config import setting
from lth.errors import ConfigError, DataError
from lth.io import file_digest, write_bytes_atomic
from lth.torchvision_compat import datasets as tv_datasets

MIRROR_ENV = "LTH_DATA_MIRROR"
DATASETS = ("mnist", "fashion_mnist", "cifar10")
_MNIST_LIKE = {"mnist": ("MNIST", "MNIST"), "fashion_mnist": ("FashionMNIST", "FashionMNIST")}

# Tests only: {dataset: {filename: md5}} replacing torchvision's checksums so that tiny generated files in the
# real formats pass the same checks. Only Python code in the running process can fill it; it is empty in
# every user run, and ``md5_overridden`` in results/data/<set>.json records whether it was used.
_TEST_MD5: dict[str, dict[str, str]] = {}

# CIFAR-10 binary version: one record = a label byte, then 1024 R, 1024 G, 1024 B pixel bytes (32x32 rows).
CIFAR_RECORD = 1 + 3 * 32 * 32
CIFAR_BATCHES = {**{f"data_batch_{k}": f"training batch {k} of 5" for k in range(1, 6)},
                 "test_batch": "testing batch 1 of 1"}
_CIFAR_FILENAMES = {"train": "filenames_train.txt", "test": "filenames_test.txt"}
_CIFAR_META = "batches.meta"


@dataclass(frozen=True)
class DataConfig:
    """The ``data`` section: how every dataset's training set is split (read by the data stages), and the
    subsets a quick test profile may train and test on (0 = the whole split)."""
    validation_size: int = setting(5000, "images held out of the training set for validation", min=1)
    split_seed: int = setting(0, "seed of the fixed train/validation split", min=0)
    train_limit: int = setting(0, "train on at most this many images, a seeded random subset of the rest of the "
                               "training set (0 = all of it; for the smoke profile)", min=0)
    test_limit: int = setting(0, "test on at most the first this many test images (0 = all; for the smoke profile)",
                              min=0)


def dataset_class(name: str) -> type:
    """The torchvision dataset class for ``name``: torchvision's own, or (tests only) a subclass whose
    checksums come from ``_TEST_MD5``."""
    if name in _MNIST_LIKE:
        base = getattr(tv_datasets, _MNIST_LIKE[name][0])
    elif name == "cifar10":
        base = tv_datasets.CIFAR10
    else:
        raise DataError(f"unknown dataset {name!r}; allowed: {', '.join(DATASETS)}")
    overrides = _TEST_MD5.get(name, {})
    if not overrides:
        return base
    attrs: dict[str, Any] = {"__module__": __name__}
    if name in _MNIST_LIKE:
        attrs["resources"] = [(f, overrides.get(f, md5)) for f, md5 in base.resources]
    else:
        attrs["train_list"] = [[f, overrides.get(f, md5)] for f, md5 in base.train_list]
        attrs["test_list"] = [[f, overrides.get(f, md5)] for f, md5 in base.test_list]
        attrs["meta"] = {**base.meta, "md5": overrides.get(base.meta["filename"], base.meta["md5"])}
    # Same class name: torchvision derives folder names from it.
    return type(base.__name__, (base,), attrs)


def file_md5(path: Path) -> str:
    """md5 of a file (to check it against torchvision's table)."""
    return file_digest(path, "md5")


def _copy_atomic(source: Path, target: Path) -> None:
    with open(source, "rb") as src:
        write_bytes_atomic(target, lambda handle: shutil.copyfileobj(src, handle, 1 << 20))


def populate_from_mirror(name: str, root: Path, mirror: Path) -> None:
    """Put the original files of ``name`` from an offline mirror into ``root``, where torchvision reads them.

    MNIST-like archives and a ready-made ``cifar10/cifar-10-batches-py/`` are copied; otherwise CIFAR-10's
    python-version batches are rebuilt from the mirror's binary parts. Nothing from the mirror is executed.
    """
    if name in _MNIST_LIKE:
        folder = _MNIST_LIKE[name][1]
        source = mirror / folder / "raw"
        target = root / folder / "raw"
        for filename, _ in dataset_class(name).resources:
            if not (source / filename).is_file():
                raise DataError(f"{name}: mirror {mirror} lacks {folder}/raw/{filename}; expected the four "
                                f"original .gz archives there (see README, 'Offline data')")
            if not (target / filename).exists() or file_md5(target / filename) != file_md5(source / filename):
                _copy_atomic(source / filename, target / filename)
        return
    if name != "cifar10":
        raise DataError(f"unknown dataset {name!r}; allowed: {', '.join(DATASETS)}")
    expected = expected_files(name, root)
    if all(path.is_file() and file_md5(path) == md5 for path, md5 in expected.items()):
        return
    ready = mirror / "cifar10" / "cifar-10-batches-py"
    if ready.is_dir():
        _copy_cifar_ready(ready, expected)
    else:
        build_cifar_python(mirror / "cifar10", root / dataset_class(name).base_folder)


def _copy_cifar_ready(ready: Path, expected: dict[Path, str]) -> None:
    for target, md5 in expected.items():
        source = ready / target.name
        if not source.is_file():
            raise DataError(f"cifar10: mirror folder {ready} lacks {target.name}; expected data_batch_1..5, "
                            "test_batch and batches.meta there (see README, 'Offline data')")
        if file_md5(source) != md5:
            raise DataError(f"cifar10: mirror file {source} has md5 {file_md5(source)}, expected {md5} "
                            "(torchvision's checksum of the original file)")
        if not target.is_file() or file_md5(target) != md5:
            _copy_atomic(source, target)


def cifar_mirror_parts(source: Path) -> list[Path]:
    """The files of CIFAR-10's binary-parts layout in the mirror folder ``source`` (``<mirror>/cifar10``)."""
    parts = [source / f"{batch}.part{i}.bin.xz" for batch in CIFAR_BATCHES for i in (1, 2)]
    return parts + [source / f for f in _CIFAR_FILENAMES.values()] + [source / _CIFAR_META]


def read_cifar_binary_batch(source: Path, batch: str) -> bytes:
    """One official binary-version batch (label + 3072 pixel bytes per record): its two xz parts, decompressed
    and concatenated."""
    records = bytearray()
    for part in (source / f"{batch}.part{i}.bin.xz" for i in (1, 2)):
        try:
            records += lzma.decompress(part.read_bytes())
        except (OSError, lzma.LZMAError) as error:
            raise DataError(f"cifar10: cannot read {part} as xz data ({error})") from None
    if len(records) % CIFAR_RECORD:
        raise DataError(f"cifar10: {batch}.part1/2.bin.xz in {source} hold {len(records)} bytes, not a whole "
                        f"number of {CIFAR_RECORD}-byte records")
    return bytes(records)


# Python 2 cPickle, protocol 2: the opcodes the original CIFAR-10 python-version batches use.
_PROTO2 = b"\x80\x02"
_EMPTY_DICT, _EMPTY_LIST, _MARK, _SETITEMS, _APPENDS, _APPEND = b"}", b"]", b"(", b"u", b"e", b"a"
_TUPLE, _TUPLE1, _TUPLE2, _TUPLE3, _REDUCE, _BUILD, _STOP = b"t", b"\x85", b"\x86", b"\x87", b"R", b"b", b"."
_NONE, _FALSE = b"N", b"\x89"
_BATCH = 1000  # cPickle writes list items and dict entries in groups of 1000


class _Py2Pickler:
    """Writes the few objects of a CIFAR-10 batch exactly as Python 2's cPickle (protocol 2) did.

    cPickle memoises (BINPUT, numbering from 1) every dict, list, global and reduced object, and every string
    held by a container; temporary strings inside reduce arguments, tuples and ints are not memoised.
    """

    def __init__(self) -> None:
        self.out = bytearray(_PROTO2)
        self.memo = 0

    def memo_put(self) -> None:
        """Memoise the object just written: BINPUT (one byte) or LONG_BINPUT (four)."""
        self.memo += 1
        self.out += (b"q" + bytes([self.memo])) if self.memo < 256 else (b"r" + struct.pack("<I", self.memo))

    def save_int(self, value: int) -> None:
        """BININT1, BININT2 or BININT: the shortest that holds ``value``."""
        if 0 <= value < 1 << 8:
            self.out += b"K" + bytes([value])
        elif 0 <= value < 1 << 16:
            self.out += b"M" + struct.pack("<H", value)
        else:
            self.out += b"J" + struct.pack("<i", value)

    def save_str(self, value: bytes, memoise: bool = True) -> None:
        """A Python 2 byte string: SHORT_BINSTRING below 256 bytes, else BINSTRING."""
        self.out += (b"U" + bytes([len(value)]) if len(value) < 256 else b"T" + struct.pack("<I", len(value)))
        self.out += value
        if memoise:
            self.memo_put()

    def save_global(self, module: bytes, name: bytes) -> None:
        """GLOBAL ``module.name`` (memoised)."""
        self.out += b"c" + module + b"\n" + name + b"\n"
        self.memo_put()

    def save_items(self, values: list, save, single: bytes, many: bytes) -> None:
        """Container items in groups of 1000: MARK ... ``many`` per group, or the item and ``single`` alone."""
        for start in range(0, len(values), _BATCH):
            chunk = values[start:start + _BATCH]
            if len(chunk) > 1:
                self.out += _MARK
            for value in chunk:
                save(value)
            self.out += many if len(chunk) > 1 else single

    def save_list(self, values: list, save) -> None:
        """EMPTY_LIST (memoised), then its items written by ``save``."""
        self.out += _EMPTY_LIST
        self.memo_put()
        self.save_items(values, save, _APPEND, _APPENDS)

    def save_uint8_array(self, rows: int, columns: int, data: bytes) -> None:
        """A C-ordered numpy uint8 array, as numpy 1.x's ``ndarray.__reduce__`` gave it to cPickle."""
        self.save_global(b"numpy.core.multiarray", b"_reconstruct")
        self.save_global(b"numpy", b"ndarray")
        self.save_int(0)
        self.out += _TUPLE1
        self.save_str(b"b", memoise=False)
        self.out += _TUPLE3 + _REDUCE
        self.memo_put()
        self.out += _MARK                                     # state: (1, shape, dtype, fortran, raw bytes)
        self.save_int(1)
        self.save_int(rows)
        self.save_int(columns)
        self.out += _TUPLE2
        self.save_global(b"numpy", b"dtype")                  # dtype('u1', 0, 1) with its state
        self.save_str(b"u1", memoise=False)
        self.save_int(0)
        self.save_int(1)
        self.out += _TUPLE3 + _REDUCE
        self.memo_put()
        self.out += _MARK
        self.save_int(3)
        self.save_str(b"|", memoise=False)
        self.out += _NONE * 3
        self.save_int(-1)
        self.save_int(-1)
        self.save_int(0)
        self.out += _TUPLE + _BUILD
        self.out += _FALSE
        self.save_str(data, memoise=False)
        self.out += _TUPLE + _BUILD


def cifar_python_batch(records: bytes, filenames: list[bytes], batch_label: str) -> bytes:
    """The python-version pickle of one CIFAR-10 batch, byte-identical to the official file.

    ``records`` is the binary-version batch (``CIFAR_RECORD`` bytes per image), ``filenames`` the original
    per-image file names in record order. The pickle is the Python 2 dict {'batch_label', 'labels',
    'data' (uint8 array N x 3072), 'filenames'}, serialised as cPickle did, so its md5 can be checked
    against torchvision's table.
    """
    count, rest = divmod(len(records), CIFAR_RECORD)
    if rest or count != len(filenames):
        raise DataError(f"cifar10: {batch_label}: {len(records)} bytes of records for {len(filenames)} file names")
    table = np.frombuffer(records, dtype=np.uint8).reshape(count, CIFAR_RECORD)
    labels = table[:, 0].tolist()
    pixels = table[:, 1:].tobytes()
    pickler = _Py2Pickler()
    pickler.out += _EMPTY_DICT
    pickler.memo_put()
    pickler.out += _MARK
    pickler.save_str(b"batch_label")
    pickler.save_str(batch_label.encode("ascii"))
    pickler.save_str(b"labels")
    pickler.save_list(labels, pickler.save_int)
    pickler.save_str(b"data")
    pickler.save_uint8_array(count, CIFAR_RECORD - 1, pixels)
    pickler.save_str(b"filenames")
    pickler.save_list(filenames, pickler.save_str)
    pickler.out += _SETITEMS + _STOP
    return bytes(pickler.out)


def build_cifar_python(source: Path, folder: Path) -> None:
    """Rebuild ``cifar-10-batches-py/`` (``folder``) from the binary parts in ``source`` (``<mirror>/cifar10``).

    Each rebuilt file must have torchvision's md5 before it is written (atomically); a mismatch raises a
    one-line ``DataError`` naming the file and the md5 expected, since the mirror then is not the original data.
    """
    parts = cifar_mirror_parts(source)
    missing = [path.name for path in parts if not path.is_file()]
    if missing:
        which = "" if len(missing) == len(parts) else f"; missing: {', '.join(missing)}"
        raise DataError(f"cifar10: mirror folder {source} has neither cifar-10-batches-py/ nor the binary parts "
                        f"(<batch>.part1.bin.xz and .part2.bin.xz for data_batch_1..5 and test_batch, "
                        f"{', '.join(_CIFAR_FILENAMES.values())}, {_CIFAR_META}){which} (see README, 'Offline data')")
    cls = dataset_class("cifar10")
    md5s = {f: md5 for f, md5 in cls.train_list + cls.test_list}
    names = {split: (source / f).read_bytes().splitlines() for split, f in _CIFAR_FILENAMES.items()}
    used = {"train": 0, "test": 0}
    for batch, batch_label in CIFAR_BATCHES.items():
        records = read_cifar_binary_batch(source, batch)
        split = "test" if batch == "test_batch" else "train"
        start, used[split] = used[split], used[split] + len(records) // CIFAR_RECORD
        if used[split] > len(names[split]):
            raise DataError(f"cifar10: {source / _CIFAR_FILENAMES[split]} has {len(names[split])} names, fewer "
                            f"than the records of its batches")
        payload = cifar_python_batch(records, names[split][start:used[split]], batch_label)
        _write_checked(folder / batch, payload, md5s[batch], f"rebuilt from {source}/{batch}.part1/2.bin.xz")
    _write_checked(folder / _CIFAR_META, (source / _CIFAR_META).read_bytes(), cls.meta["md5"],
                   f"copied from {source / _CIFAR_META}")


def _write_checked(path: Path, payload: bytes, md5: str, origin: str) -> None:
    actual = hashlib.md5(payload).hexdigest()
    if actual != md5:
        raise DataError(f"cifar10: {path.name} {origin} has md5 {actual}, expected {md5} (torchvision's checksum "
                        "of the original file); the mirror does not hold the original data")
    write_bytes_atomic(path, lambda handle: handle.write(payload))


def expected_files(name: str, root: Path) -> dict[Path, str]:
    """The original files torchvision reads for ``name`` under ``root``, with their expected md5s."""
    cls = dataset_class(name)
    if name in _MNIST_LIKE:
        folder = root / _MNIST_LIKE[name][1] / "raw"
        return {folder / filename: md5 for filename, md5 in cls.resources}
    folder = root / cls.base_folder
    files = {folder / f: md5 for f, md5 in cls.train_list + cls.test_list}
    files[folder / cls.meta["filename"]] = cls.meta["md5"]
    return files


def check_local_files(name: str, root: Path) -> None:
    """Fail clearly on a present-but-corrupted original file (instead of silently re-downloading it)."""
    for path, md5 in expected_files(name, root).items():
        if path.exists() and file_md5(path) != md5:
            raise DataError(f"{name}: {path} is corrupted: md5 {file_md5(path)}, expected {md5}. Delete it and "
                            f"re-run online, or set {MIRROR_ENV} to a folder with the original files")


def _open(name: str, root: Path, train: bool):
    cls = dataset_class(name)
    try:
        return cls(str(root), train=train, download=True)
    except Exception as error:  # torchvision raises RuntimeError/URLError/OSError for missing, bad or offline
        raise DataError(
            f"{name}: could not find verified files under {root} nor download them ({type(error).__name__}: "
            f"{str(error).strip().splitlines()[0] if str(error).strip() else error}). Expected torchvision's "
            f"original files with their md5s; offline, set {MIRROR_ENV} to a folder holding them "
            "(layout as ../shared/datasets: MNIST/raw/*.gz, FashionMNIST/raw/*.gz, cifar10/)") from None


def _images_labels(dataset) -> tuple[torch.Tensor, torch.Tensor]:
    data = dataset.data
    images = torch.as_tensor(data).to(torch.uint8)
    if images.dim() == 4:                       # CIFAR: [N, H, W, C] -> [N, C, H, W]
        images = images.permute(0, 3, 1, 2).contiguous()
    else:                                       # MNIST: [N, H, W] -> [N, 1, H, W]
        images = images.unsqueeze(1).contiguous()
    labels = torch.as_tensor(dataset.targets, dtype=torch.uint8)
    return images, labels


def validation_split(train_size: int, validation_size: int, seed: int,
                     train_limit: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed (train, validation) index sets: a seeded permutation's first ``validation_size`` are validation,
    the rest (its first ``train_limit`` of them, when that is not 0) training."""
    if not 0 < validation_size < train_size:
        raise ConfigError(f"params.yaml: data.validation_size = {validation_size}: must be between 1 and "
                          f"{train_size - 1} (this training set has {train_size} images)")
    order = torch.randperm(train_size, generator=torch.Generator().manual_seed(seed))
    train = order[validation_size:validation_size + train_limit] if train_limit else order[validation_size:]
    return train.sort().values, order[:validation_size].sort().values


def prepare(name: str, root: Path, validation_size: int, split_seed: int, train_limit: int = 0,
            test_limit: int = 0) -> dict[str, Any]:
    """Load ``name`` through torchvision (from the mirror when set) and return tensors ready to save.

    Returns ``{"train_images", "train_labels", "test_images", "test_labels", "train_index",
    "validation_index", "info"}``; images are uint8 [N, C, H, W], labels uint8. ``train_limit`` and
    ``test_limit`` (0 = no limit) shrink the training and test sets, for quick test runs.
    """
    root.mkdir(parents=True, exist_ok=True)
    mirror = os.environ.get(MIRROR_ENV)
    if mirror:
        if not Path(mirror).is_dir():
            raise DataError(f"{MIRROR_ENV}={mirror}: not a folder")
        populate_from_mirror(name, root, Path(mirror))
    check_local_files(name, root)
    train_images, train_labels = _images_labels(_open(name, root, train=True))
    test_images, test_labels = _images_labels(_open(name, root, train=False))
    train_index, validation_index = validation_split(len(train_labels), validation_size, split_seed,
                                                     train_limit)
    if test_limit:
        test_images, test_labels = test_images[:test_limit].clone(), test_labels[:test_limit].clone()
    digest = hashlib.sha256(validation_index.numpy().tobytes()).hexdigest()[:16]
    info = {"dataset": name, "train": int(len(train_index)), "validation": int(len(validation_index)),
            "test": int(len(test_labels)), "image_shape": list(train_images.shape[1:]),
            "split_seed": split_seed, "validation_index_sha256": digest,
            "md5_overridden": bool(_TEST_MD5.get(name))}
    return {"train_images": train_images, "train_labels": train_labels, "test_images": test_images,
            "test_labels": test_labels, "train_index": train_index, "validation_index": validation_index,
            "info": info}
