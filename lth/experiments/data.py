"""The ``data`` stage: fetch one dataset through torchvision (md5-checked; offline from ``LTH_DATA_MIRROR``) and
save it as uint8 tensors with its train / validation / test split."""
from __future__ import annotations

from lth.datasets import DATASETS, DataConfig, prepare
from lth.io import save_torch_atomic, write_json_atomic
from lth.stage_run import StageRun

SECTIONS = {"data": DataConfig}
ITEMS = (("dataset", DATASETS, "which dataset to prepare"),)


def stage(run: StageRun) -> str:
    """Prepare one dataset (``data mnist``): writes data/<dataset>.pt (DVC-cached; originals kept in data/raw)
    and results/data/<dataset>.json (sizes, the validation split's seed and hash)."""
    dataset, = run.items
    config = run.section("data", DataConfig).config
    prepared = prepare(dataset, run.data / "raw", config.validation_size, config.split_seed, config.train_limit,
                       config.test_limit)
    info = prepared.pop("info")
    save_torch_atomic(run.dataset(dataset), {**prepared, "info": info})
    write_json_atomic(run.results / "data" / f"{dataset}.json", info)
    return f"{info['train']} train / {info['validation']} validation / {info['test']} test images"
