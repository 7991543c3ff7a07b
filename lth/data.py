"""Datasets -> uint8 tensors with a fixed train/validation split (torchvision datasets, md5-checked).

Data come from torchvision's dataset classes, which verify torchvision's md5 checksums and download when
online. Offline, ``LTH_DATA_MIRROR`` names a folder laid out like ``../shared/datasets`` (``MNIST/raw/*.gz``,
``FashionMNIST/raw/*.gz``, ``cifar10/`` with ``make_python_version.py`` or ``cifar-10-batches-py/``); its
files are copied or rebuilt into the data root first, then torchvision checks and reads them.
``LTH_DATA_MD5`` (tests only) names a JSON file ``{dataset: {filename: md5}}`` replacing torchvision's checksums, so
tiny generated files in the real formats pass the same checks.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from lth.torchvision_compat import datasets as tv_datasets

if TYPE_CHECKING:
    from lth.engine import Split

MIRROR_ENV = "LTH_DATA_MIRROR"
MD5_ENV = "LTH_DATA_MD5"
DATASETS = ("mnist", "fashion_mnist", "cifar10")
_MNIST_LIKE = {"mnist": ("MNIST", "MNIST"), "fashion_mnist": ("FashionMNIST", "FashionMNIST")}

# Per-channel statistics of the training sets (images scaled to [0, 1]), for input normalisation.
MEAN_STD = {"mnist": ((0.1307,), (0.3081,)), "fashion_mnist": ((0.2860,), (0.3530,)),
            "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))}


class DataError(RuntimeError):
    """A dataset that is missing, corrupted or cannot be downloaded; the message says how to provide it."""


def _md5_overrides(name: str) -> dict[str, str]:
    path = os.environ.get(MD5_ENV)
    if not path:
        return {}
    try:
        return json.loads(Path(path).read_text()).get(name, {})
    except (OSError, json.JSONDecodeError) as error:
        raise DataError(f"{MD5_ENV}={path}: cannot read a JSON mapping of file name to md5 ({error})") from None


def dataset_class(name: str) -> type:
    """The torchvision dataset class for ``name``, with checksums replaced from ``LTH_DATA_MD5`` if set."""
    if name in _MNIST_LIKE:
        base = getattr(tv_datasets, _MNIST_LIKE[name][0])
    elif name == "cifar10":
        base = tv_datasets.CIFAR10
    else:
        raise DataError(f"unknown dataset {name!r}; allowed: {', '.join(DATASETS)}")
    overrides = _md5_overrides(name)
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
    """md5 of a file (to record exactly which data a result used)."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def populate_from_mirror(name: str, root: Path, mirror: Path) -> None:
    """Copy (MNIST-like) or rebuild (CIFAR-10) the original files from an offline mirror into ``root``."""
    if name in _MNIST_LIKE:
        folder = _MNIST_LIKE[name][1]
        source = mirror / folder / "raw"
        target = root / folder / "raw"
        target.mkdir(parents=True, exist_ok=True)
        for filename, _ in dataset_class(name).resources:
            if not (source / filename).exists():
                raise DataError(f"{name}: mirror {mirror} lacks {folder}/raw/{filename}; expected the four "
                                f"original .gz archives there (see README, 'Offline data')")
            if not (target / filename).exists() or file_md5(target / filename) != file_md5(source / filename):
                shutil.copyfile(source / filename, target / filename)
        return
    folder = root / "cifar-10-batches-py"
    if folder.exists() and _cifar_intact(root):
        return
    ready = mirror / "cifar10" / "cifar-10-batches-py"
    builder = mirror / "cifar10" / "make_python_version.py"
    if ready.is_dir():
        shutil.copytree(ready, folder, dirs_exist_ok=True)
    elif builder.exists():
        subprocess.run([sys.executable, str(builder), str(root)], check=True, stdout=subprocess.DEVNULL)
    else:
        raise DataError(f"cifar10: mirror {mirror} has neither cifar10/make_python_version.py nor "
                        "cifar10/cifar-10-batches-py/ (see README, 'Offline data')")


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


def _cifar_intact(root: Path) -> bool:
    try:
        dataset_class("cifar10")(str(root), train=False, download=False)
        return True
    except RuntimeError:
        return False


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


def validation_split(train_size: int, validation_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed (train, validation) index sets: a seeded permutation's first ``validation_size`` are validation."""
    if not 0 < validation_size < train_size:
        raise DataError(f"data.validation_size = {validation_size}: must be between 1 and {train_size - 1}")
    order = torch.randperm(train_size, generator=torch.Generator().manual_seed(seed))
    return order[validation_size:].sort().values, order[:validation_size].sort().values


def prepare(name: str, root: Path, validation_size: int, split_seed: int) -> dict[str, Any]:
    """Load ``name`` through torchvision (from the mirror when set) and return tensors ready to save.

    Returns ``{"train_images", "train_labels", "test_images", "test_labels", "train_index",
    "validation_index", "info"}``; images are uint8 [N, C, H, W], labels uint8.
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
    train_index, validation_index = validation_split(len(train_labels), validation_size, split_seed)
    digest = hashlib.sha256(validation_index.numpy().tobytes()).hexdigest()[:16]
    info = {"dataset": name, "train": int(len(train_index)), "validation": int(len(validation_index)),
            "test": int(len(test_labels)), "image_shape": list(train_images.shape[1:]),
            "split_seed": split_seed, "validation_index_sha256": digest,
            "md5_overridden": bool(_md5_overrides(name))}
    return {"train_images": train_images, "train_labels": train_labels, "test_images": test_images,
            "test_labels": test_labels, "train_index": train_index, "validation_index": validation_index,
            "info": info}


@dataclass
class DeviceData:
    """A prepared dataset on the device as float features: train/validation/test splits."""
    train: "Split"
    validation: "Split"
    test: "Split"


def load_prepared(path: Path, device: torch.device, flatten: bool, dtype: torch.dtype = torch.float32) -> DeviceData:
    """Read a prepared dataset file and put its normalised splits on ``device`` (flattened for MLPs)."""
    from lth.engine import Split
    saved = torch.load(path, map_location="cpu", weights_only=True)
    name = saved["info"]["dataset"]
    mean, std = (torch.tensor(v, dtype=dtype).view(1, -1, 1, 1) for v in MEAN_STD[name])

    def features(images: torch.Tensor) -> torch.Tensor:
        x = ((images.to(dtype) / 255.0) - mean) / std
        return (x.flatten(1) if flatten else x).to(device)

    labels_train = saved["train_labels"].long()
    return DeviceData(
        train=Split(features(saved["train_images"][saved["train_index"]]),
                    labels_train[saved["train_index"]].to(device)),
        validation=Split(features(saved["train_images"][saved["validation_index"]]),
                         labels_train[saved["validation_index"]].to(device)),
        test=Split(features(saved["test_images"]), saved["test_labels"].long().to(device)))
