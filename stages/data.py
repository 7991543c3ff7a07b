"""DVC stage: fetch one dataset through torchvision (md5-checked) and save it as uint8 tensors + split.

Reads params `profile` and `data`; writes data/<dataset>.pt (DVC-cached) and results/data/<dataset>.json (what was
prepared: sizes, the validation split's seed and hash). Offline, set LTH_DATA_MIRROR (see README,
'Offline data').
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lth.cli import run_stage, stage_parser  # noqa: E402
from lth.config import load_section  # noqa: E402
from lth.datasets import DATASETS, DataConfig, prepare  # noqa: E402
from lth.io import save_torch_atomic, write_json_atomic  # noqa: E402


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("dataset", choices=DATASETS, help="which dataset to prepare")
    parser.add_argument("--root", default="data/raw", help="where torchvision keeps the original files")
    args = parser.parse_args()

    def body() -> str:
        config = load_section(args.params, "data", DataConfig).config
        prepared = prepare(args.dataset, Path(args.root), config.validation_size, config.split_seed,
                           config.train_limit, config.test_limit)
        info = prepared.pop("info")
        save_torch_atomic(Path("data") / f"{args.dataset}.pt", {**prepared, "info": info})
        write_json_atomic(Path("results/data") / f"{args.dataset}.json", info)
        return f"{info['train']} train / {info['validation']} validation / {info['test']} test images"

    run_stage(f"data {args.dataset}", body)


if __name__ == "__main__":
    main()
