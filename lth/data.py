"""A prepared dataset (the data stage's ``data/<set>.pt``) as normalised float tensors on the device.

``Split`` is what the engine trains and evaluates on; ``load_prepared`` builds the three splits of one
prepared file and records the file's hash (checkpoints are tied to the exact data they were trained on).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from lth.io import ContentError, expect_tensors, file_digest, read_torch_file, rerun, verify_torch_file

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


PREPARED = {"train_images": ("int", 4), "train_labels": ("int", 1), "test_images": ("int", 4),
            "test_labels": ("int", 1), "train_index": ("int", 1), "validation_index": ("int", 1)}


def check_prepared(saved: object) -> None:
    """Raise ``ContentError`` unless ``saved`` is a prepared dataset as the data stage writes it: uint8
    images [N, C, H, W] with N labels, split indexes into the training images, and the dataset's name."""
    expect_tensors(saved, PREPARED, "prepared dataset")
    info = saved.get("info")
    name = info.get("dataset") if isinstance(info, dict) else None
    if name not in MEAN_STD:
        raise ContentError(f"info.dataset = {name!r} is not one of " + ", ".join(MEAN_STD))
    for part in ("train", "test"):
        images, labels = saved[f"{part}_images"], saved[f"{part}_labels"]
        if images.shape[0] != labels.shape[0] or images.shape[1] != len(MEAN_STD[name][0]):
            raise ContentError(f"{part}_images of shape {list(images.shape)} do not fit {labels.shape[0]} labels "
                               f"and {name}'s {len(MEAN_STD[name][0])} channel(s)")
    for key in ("train_index", "validation_index"):
        index = saved[key]
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= saved["train_images"].shape[0]):
            raise ContentError(f"{key} points outside the {saved['train_images'].shape[0]} training images")


def verify_prepared(path: Path) -> None:
    """Check that a prepared dataset file is present and complete without loading it (``verify_torch_file``),
    so a stage that loads several datasets in turn can refuse a damaged one before training on the first."""
    verify_torch_file(Path(path), fix=rerun(f"data@{Path(path).stem}"))


def load_prepared(path: Path, device: torch.device, flatten: bool, dtype: torch.dtype = torch.float32) -> DeviceData:
    """Read a prepared dataset file and put its normalised splits on ``device`` (flattened for MLPs).

    A missing, damaged or foreign file stops the stage with one line naming it and the data stage to re-run."""
    path = Path(path)
    saved = read_torch_file(path, expect=check_prepared, fix=rerun(f"data@{path.stem}"))
    name = saved["info"]["dataset"]
    mean, std = (torch.tensor(v, dtype=dtype).view(1, -1, 1, 1) for v in MEAN_STD[name])

    def features(images: torch.Tensor) -> torch.Tensor:
        x = ((images.to(dtype) / 255.0) - mean) / std
        # Images for the conv nets are held channels-last, the layout they compute in, so that a batch gathered
        # from them enters the first convolution without a conversion (the same values either way).
        return (x.flatten(1) if flatten else x.contiguous(memory_format=torch.channels_last)).to(device)

    labels_train = saved["train_labels"].long()
    return DeviceData(
        train=Split(features(saved["train_images"][saved["train_index"]]),
                    labels_train[saved["train_index"]].to(device)),
        validation=Split(features(saved["train_images"][saved["validation_index"]]),
                         labels_train[saved["validation_index"]].to(device)),
        test=Split(features(saved["test_images"]), saved["test_labels"].long().to(device)),
        source_sha256=file_digest(path, "sha256"))
