"""Helper for the lottery tests: run MnistLottery on a tiny synthetic problem and write its results JSON.

usage: python tests/lottery_run.py CHECKPOINT OUT_JSON
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from lth.data import DeviceData, Split  # noqa: E402
from lth.shared.lenet import MnistConfig, MnistLottery  # noqa: E402

# sparse_below 0.5: the rounds from the fourth on (first layer at 41% and less) take sparse products
TINY = MnistConfig(hidden_sizes=[24, 12], iterations=150, eval_every=25, trials=2, batch_size=16,
                   min_remaining=0.3, one_shot_rounds=[1, 3], curve_rounds=[0, 2], reinit_per_ticket=2,
                   sparse_below=0.5)


def tiny_data(seed: int = 0, source_sha256: str = "") -> DeviceData:
    """A 10-class problem on 30 features: labels are the argmax of a fixed random linear map.
    ``source_sha256`` stands for the hash of the file the data came from (checkpoints are tied to it)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(700, 30, generator=generator)
    y = (x @ torch.randn(30, 10, generator=generator)).argmax(1)
    return DeviceData(Split(x[:400], y[:400]), Split(x[400:500], y[400:500]), Split(x[500:], y[500:]),
                      source_sha256=source_sha256)


if __name__ == "__main__":
    checkpoint, out = Path(sys.argv[1]), Path(sys.argv[2])
    results = MnistLottery(TINY, tiny_data(), torch.device("cpu"), checkpoint, progress=False).run()
    out.write_text(json.dumps(results, sort_keys=True))
