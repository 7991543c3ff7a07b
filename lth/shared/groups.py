"""Config groups: the settings every study shares, declared once and composed into each experiment's schema.

A schema is a frozen dataclass inheriting the groups it needs (its own keys after them); the YAML stays flat
(``mnist.lr``, so ``dvc exp run -S mnist.lr=...`` works) and so does every results file's config record. A
group that shapes training says which engine settings it sets in ``train_fields``; ``to_train_settings()``
collects exactly those, so ``mnist.lr`` reaches the optimizer through ``OptimizerGroup.train_fields``, a line
a reader (or grep) can follow. ``paper_default`` gives a group's key another net's paper value while keeping
its range and help.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from lth.config import setting
from lth.core.engine import TrainSettings
from lth.shared.settings import MIXED_PRECISION_HELP, PATIENCE_HELP

INITS = ("glorot_normal", "normal", "glorot_uniform")


def paper_default(group: type, key: str, value: Any) -> Any:
    """Field ``key`` of ``group`` with ``value`` as its default (a net's paper setting), same range and help."""
    meta = group.__dataclass_fields__[key].metadata
    if isinstance(value, list):
        return dataclasses.field(default_factory=lambda: list(value), metadata=meta)
    return dataclasses.field(default=value, metadata=meta)


@dataclass(frozen=True)
class InitGroup:
    """How the weights are drawn (biases 0, batch-norm scales 1)."""
    init: str = setting("glorot_normal", "weight init (final paper: Gaussian Glorot; v1: 'normal' std 0.1)",
                        choices=INITS)
    init_std: float = setting(0.1, "std of the 'normal' init", min=0, min_exclusive=True)


@dataclass(frozen=True)
class TrialsGroup:
    """Independent repetitions and the seed every member's randomness derives from."""
    trials: int = setting(5, "independent trials (different inits and batches) per level or setting", min=1)
    seed: int = setting(0, "base seed", min=0)


@dataclass(frozen=True)
class NumericsGroup:
    """The arithmetic of the training passes."""
    mixed_precision: bool = setting(False, MIXED_PRECISION_HELP)

    def train_fields(self) -> dict[str, Any]:
        """Engine settings this group sets."""
        return {"mixed_precision": self.mixed_precision}


@dataclass(frozen=True)
class SparseProductsGroup:
    """Sparse products for the sparse members of a population (``lth.core.sparse_products``; CPU only)."""
    sparse_below: float = setting(0.0, "on a CPU, a member whose mask keeps at most this fraction of a layer "
                                  "computes that layer's products over the kept weights only where no input "
                                  "gradient is needed (the first layer in training, every layer in evaluation; "
                                  "faster at low Pm: bench/README.md; the sums then round differently from dense "
                                  "products); 0 = dense products throughout", min=0, max=1)

    def train_fields(self) -> dict[str, Any]:
        """Engine settings this group sets."""
        return {"sparse_below": self.sparse_below}


@dataclass(frozen=True)
class OptimizerGroup:
    """The optimizer and its (peak) learning rate."""
    optimizer: str = setting("adam", "optimizer", choices=("adam", "sgd"))
    lr: float = setting(1.2e-3, "learning rate (after any warmup)", min=0, min_exclusive=True)

    def train_fields(self) -> dict[str, Any]:
        """Engine settings this group sets."""
        return {"optimizer": self.optimizer, "lr": self.lr}


@dataclass(frozen=True)
class SgdGroup:
    """SGD's momentum and L2 weight decay."""
    momentum: float = setting(0.9, "SGD momentum", min=0, max=1, max_exclusive=True)
    weight_decay: float = setting(0.0, "L2 weight decay", min=0)

    def train_fields(self) -> dict[str, Any]:
        """Engine settings this group sets."""
        return {"momentum": self.momentum, "weight_decay": self.weight_decay}


@dataclass(frozen=True)
class ScheduleGroup:
    """Minibatches, length, evaluation interval and early stopping of one training."""
    batch_size: int = setting(60, "minibatch size", min=1)
    iterations: int = setting(50000, "training iterations per training run", min=1)
    eval_every: int = setting(100, "validation-loss evaluation interval (early stopping)", min=1)
    patience: int = setting(0, PATIENCE_HELP, min=0)

    def train_fields(self) -> dict[str, Any]:
        """Engine settings this group sets."""
        return {"batch_size": self.batch_size, "iterations": self.iterations, "eval_every": self.eval_every,
                "patience": self.patience}


@dataclass(frozen=True)
class ImagesGroup:
    """A conv net on CIFAR-10: its width, how many training images, and augmentation."""
    width: float = setting(1.0, "multiplier of every hidden width (1 = the paper's net; < 1 for reduced-scale runs)",
                           min=0, min_exclusive=True)
    train_examples: int = setting(0, "train on the first N images of the training split (0 = all of it)", min=0)
    augment: bool = setting(False, "random flip + 4-pixel pad-and-crop, on the device")

    def train_fields(self) -> dict[str, Any]:
        """Engine settings this group sets."""
        return {"augment": self.augment}


@dataclass(frozen=True)
class TrainingGroups:
    """Base of every schema built from groups: the engine's settings from the groups it inherits."""

    def to_train_settings(self, **overrides: Any) -> TrainSettings:
        """``TrainSettings`` from every inherited group's ``train_fields`` (``overrides`` last), the engine's
        defaults for what no group sets."""
        values: dict[str, Any] = {}
        for group in reversed(type(self).__mro__):
            contribute = vars(group).get("train_fields")
            if contribute is not None:
                values.update(contribute(self))
        return TrainSettings(**{**values, **overrides})
