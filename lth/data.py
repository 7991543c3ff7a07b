"""A prepared dataset (the data stage's ``data/<set>.pt``) as normalised float tensors on the device.

``Split`` is what the engine trains and evaluates on; ``load_prepared`` builds the three splits of one
prepared file and records the file's hash (checkpoints are tied to the exact data they were trained on).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from lth.errors import DataError
from lth.io import file_digest, load_torch

# Per-channel statistics of the training sets (images scaled to [0, 1]), for input normalisation.
MEAN_STD = {"mnist": ((0.1307,), (0.3081,)), "fashion_mnist": ((0.2860,), (0.3530,)),
            "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))}


@dataclass
class Split:
    """Inputs (features, already on the device and normalised) and integer labels of one data split."""
    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass
class DeviceData:
    """A prepared dataset on the device as float features: train/validation/test splits, and the sha256 of
    the file they came from (empty when built in memory, e.g. by tests)."""
    train: Split
    validation: Split
    test: Split
    source_sha256: str = ""


def load_prepared(path: Path, device: torch.device, flatten: bool, dtype: torch.dtype = torch.float32) -> DeviceData:
    """Read a prepared dataset file and put its normalised splits on ``device`` (flattened for MLPs)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} not found: run `dvc repro data@{path.stem}` first")
    saved = load_torch(path)
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
        test=Split(features(saved["test_images"]), saved["test_labels"].long().to(device)),
        source_sha256=file_digest(path, "sha256"))
