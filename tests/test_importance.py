"""Layerwise importance values on hand-made layers, the overlap measure against sets, and the importance
lottery: each metric a population member exactly as alone, the repeated metric's tickets identical."""
import dataclasses

import pytest
import torch

from lottery_run import tiny_data
from lth.config import ConfigError, build
from lth.core.criteria import importance_scores, mask_iou
from lth.core.masks import prune_global
from lth.experiments.importance import ImportanceConfig, ImportanceLottery

SMALL = torch.tensor([[[0.1, -0.2, 0.3, -0.4]]])                     # [K=1, 1, 4]
LARGE = torch.tensor([[[1.0, -2.0, 3.0, -4.0, 5.0, -6.0, 7.0, -8.0]]])


def _alive(t):
    return torch.ones_like(t, dtype=torch.bool)


def test_importance_values_follow_their_definitions_over_surviving_weights():
    alive = torch.tensor([[[True, True, True, False]]])
    w = SMALL
    got = {m: importance_scores(m, {"w": w}, {"w": alive}, ["w"])["w"][0, 0, :3]
           for m in ("magnitude", "layerwise", "mean_normalized", "std_normalized", "l1_normalized")}
    live = torch.tensor([0.1, -0.2, 0.3])
    assert torch.allclose(got["magnitude"], live.abs())
    assert torch.allclose(got["layerwise"], torch.tensor([1 / 3, 2 / 3, 1.0]))
    assert torch.allclose(got["mean_normalized"], live.abs() / live.abs().mean())
    assert torch.allclose(got["std_normalized"], live.abs() / live.std(unbiased=False))
    assert torch.allclose(got["l1_normalized"], live.abs() / live.abs().sum())


def _global(metric, rate):
    weights, masks = {"s": SMALL, "l": LARGE}, {"s": _alive(SMALL), "l": _alive(LARGE)}
    return prune_global(importance_scores(metric, weights, masks, ["s", "l"]), masks, ["s", "l"], rate)


def test_global_pruning_by_each_value_removes_what_it_should():
    # magnitude: the small layer's weights are all below the large layer's: the 3 pruned are all small ones
    kept = _global("magnitude", 0.25)
    assert kept["s"].sum() == 1 and kept["l"].sum() == 8
    # layerwise percentile: the same fraction of each layer (1 of 4, 2 of 8), the smallest of each
    kept = _global("layerwise", 0.25)
    assert kept["s"][0, 0].tolist() == [False, True, True, True]
    assert kept["l"][0, 0].tolist() == [False, False] + [True] * 6
    # l1-normalised: a weight of the small layer counts for more (its layer sums to 1.0, the large to 36)
    kept = _global("l1_normalized", 0.25)
    assert kept["s"].sum() == 4 and kept["l"].sum() == 5


def test_iou_matches_sets():
    a = {"x": torch.tensor([[True, True, False, False], [True, False, True, False]])}
    b = {"x": torch.tensor([[True, False, True, False], [True, False, True, False]])}
    assert mask_iou(a, b, ["x"]).tolist() == [pytest.approx(1 / 3), 1.0]


TINY = ImportanceConfig(hidden_sizes=[24, 12], iterations=100, eval_every=20, patience=40, trials=2, batch_size=16,
                        min_remaining=0.4, global_rate=0.3, metrics=["magnitude", "layerwise", "std_normalized"])


def _run(config, tmp_path, name):
    return ImportanceLottery(config, tiny_data(), torch.device("cpu"), tmp_path / f"{name}.pt", progress=False).run()


def test_metrics_train_together_exactly_as_alone_and_repeats_are_identical(tmp_path):
    together = _run(TINY, tmp_path, "together")
    alone = _run(dataclasses.replace(TINY, metrics=["magnitude"]), tmp_path, "alone")
    assert len(together["rounds"]) == len(alone["rounds"]) == 4      # dense + 3 rounds: 0.7^2 > 0.4 >= 0.7^3
    labels = together["members"]
    assert labels == ["magnitude t0", "layerwise t0", "std_normalized t0", "magnitude t1", "layerwise t1",
                      "std_normalized t1", "magnitude (repeat) t0", "magnitude (repeat) t1"]
    for both, single in zip(together["rounds"][1:], alone["rounds"][1:]):
        assert both["magnitude"] == single["magnitude"] == both["magnitude (repeat)"]
        matrix = torch.tensor(both["overlap"])
        assert matrix[0, 6] == 1.0 and matrix[3, 7] == 1.0                # same seed, same batches: identical
        assert matrix[0, 3] < 1.0 and torch.allclose(matrix, matrix.T)     # another seed: another ticket
        pm = both["magnitude"]["pm"][0]
        assert all(both[m]["pm"] == [pm, pm] for m in ("layerwise", "std_normalized"))   # equal Pm: comparable
    assert together["rounds"][0]["dense"] == alone["rounds"][0]["dense"]


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"importance\.repeat_metric = 'layerwise'.*one of importance\.metrics"):
        build(ImportanceConfig, {"metrics": ["magnitude"], "repeat_metric": "layerwise"}, "importance")
    with pytest.raises(ConfigError, match=r"importance\.metrics\[0\] = 'rank'"):
        build(ImportanceConfig, {"metrics": ["rank"]}, "importance")
    with pytest.raises(ConfigError, match="each metric once"):
        build(ImportanceConfig, {"metrics": ["magnitude", "magnitude"]}, "importance")


def test_conv_net_prunes_globally_over_conv_and_fc_layers(tmp_path):
    from lth.data import DeviceData, Split
    g = torch.Generator().manual_seed(0)
    split = lambda n: Split(torch.randn(n, 3, 32, 32, generator=g), torch.arange(n) % 10)     # noqa: E731
    data = DeviceData(train=split(48), validation=split(16), test=split(16))
    config = dataclasses.replace(TINY, nets=["conv2"], conv_width=0.125, conv_iterations=[40, 40, 40],
                                 batch_size=8, metrics=["magnitude", "mean_normalized"])
    lottery = ImportanceLottery(config, data, torch.device("cpu"), tmp_path / "c.pt", progress=False, net="conv2")
    assert set(lottery.names) == {"conv0.weight", "conv1.weight", "fc0.weight", "fc1.weight", "fc2.weight"}
    result = lottery.run()
    last = result["rounds"][-1]
    assert last["magnitude"]["pm"] == last["mean_normalized"]["pm"] and last["magnitude"]["pm"][0] <= 0.4
    matrix = torch.tensor(last["overlap"])
    assert torch.all(matrix.diagonal() == 1.0) and matrix[0, 4] == 1.0      # magnitude t0 vs its repeat
