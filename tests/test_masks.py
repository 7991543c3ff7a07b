import pytest
import torch

from lth.core.masks import (apply_masks, dense_masks, keep_top_units, prune_by_rate, prune_global, prune_lowest,
                       remaining_fraction, unit_masks_for_mlp, unit_scores)
from lth.core.models import PopulationMLP


def test_prune_lowest_removes_exact_count_per_member_and_only_alive():
    scores = torch.tensor([[5.0, 1.0, 3.0, 2.0, 4.0], [1.0, 2.0, 3.0, 4.0, 5.0]])
    alive = torch.tensor([[True, True, True, True, True], [False, True, True, True, True]])
    kept = prune_lowest(scores, alive, torch.tensor([2, 1]))
    assert kept.tolist() == [[True, False, True, False, True], [False, False, True, True, True]]


def test_prune_lowest_breaks_ties_by_position():
    kept = prune_lowest(torch.zeros(1, 4), torch.ones(1, 4, dtype=torch.bool), torch.tensor([2]))
    assert kept.tolist() == [[False, False, True, True]]


def test_layerwise_rates_with_output_layer_at_half_rate():
    model = PopulationMLP((784, 300, 100, 10))
    params = model.init_params([0, 1], "glorot_normal")
    masks = dense_masks(params, model.layer_names)
    rates = {"fc0.weight": 0.2, "fc1.weight": 0.2, "fc2.weight": 0.1}
    for round_index in range(1, 4):
        scores = {n: params[n].abs() for n in masks}
        masks = prune_by_rate(scores, masks, rates)
        for name, rate in rates.items():
            alive = masks[name].flatten(1).sum(1).double()
            total = masks[name][0].numel()
            assert torch.allclose(alive / total, torch.full((2,), (1 - rate) ** round_index, dtype=torch.double),
                                  atol=2e-3)
    # the survivors are the largest-magnitude weights of the layer
    first = params["fc0.weight"][0].abs()
    assert first[masks["fc0.weight"][0]].min() >= first[~masks["fc0.weight"][0]].max()


def test_global_pruning_pools_layers():
    scores = {"a": torch.tensor([[[1.0, 2.0], [3.0, 4.0]]]), "b": torch.tensor([[[10.0, 20.0], [30.0, 40.0]]])}
    masks = {n: torch.ones_like(s, dtype=torch.bool) for n, s in scores.items()}
    new = prune_global(scores, masks, ["a", "b"], 0.5)
    assert new["a"].sum() == 0 and new["b"].sum() == 4   # all of the small layer goes, none of the large
    layerwise = prune_by_rate(scores, masks, {"a": 0.5, "b": 0.5})
    assert layerwise["a"].sum() == 2 and layerwise["b"].sum() == 2
    assert remaining_fraction(new).tolist() == [0.5]


def test_unit_heuristics_on_hand_made_weights():
    # 3 hidden units; incoming [H, 2], outgoing [1, H]
    params = {"fc0.weight": torch.tensor([[[1.0, 1.0], [4.0, 0.0], [0.5, 0.5]]]),
              "fc1.weight": torch.tensor([[[3.0, 0.25, -5.0]]])}
    assert unit_scores(params, "input_magnitude").tolist() == [[1.0, 2.0, 0.5]]
    assert unit_scores(params, "output_magnitude").tolist() == [[3.0, 0.25, 5.0]]
    assert unit_scores(params, "product").tolist() == [[6.0, 1.0, 5.0]]
    alive = torch.ones(1, 3, dtype=torch.bool)
    assert keep_top_units(unit_scores(params, "input_magnitude"), alive, 1).tolist() == [[False, True, False]]
    assert keep_top_units(unit_scores(params, "output_magnitude"), alive, 1).tolist() == [[False, False, True]]
    assert keep_top_units(unit_scores(params, "product"), alive, 2).tolist() == [[True, False, True]]
    with pytest.raises(ValueError):
        keep_top_units(unit_scores(params, "product"), alive, 4)


def test_unit_masks_remove_incoming_bias_and_outgoing():
    model = PopulationMLP((2, 4, 1))
    params = model.init_params([0], "normal", std=1.0)
    params["fc0.bias"] += 1
    alive = torch.tensor([[True, False, True, False]])
    apply_masks(params, unit_masks_for_mlp(alive))
    assert params["fc0.weight"][0, 1].abs().sum() == 0 and params["fc0.weight"][0, 0].abs().sum() > 0
    assert params["fc0.bias"][0].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert params["fc1.weight"][0, 0, 3] == 0 and params["fc1.weight"][0, 0, 2] != 0
