"""Zhou et al.'s machinery on hand-made weights: which positions each mask criterion keeps, which values each
mask-1 and mask-0 action gives, the frozen-weight and supermask models against plain references, and every
variant trained as a population member (checked against training it alone)."""
import dataclasses

import pytest
import torch
from torch.nn import functional as F

from lottery_run import tiny_data
from lth.config import ConfigError, build
from lth.core.actions import MASK1_ACTIONS, frozen_values, layer_init_std, start_values
from lth.core.criteria import criterion_scores, ranks
from lth.core.frozen import Supermask, WithFrozenWeights
from lth.core.models import PopulationMLP
from lth.experiments.deconstruct import DeconstructConfig, DeconstructLottery, keep_by_score

W_I = torch.tensor([[0.5, -0.1, 0.3, -0.4, 0.05, 0.2]])
W_F = torch.tensor([[0.12, -0.6, 0.35, 0.0, -0.3, 0.27]])
# kept positions when keeping 3 of 6, worked out by hand from the definitions
EXPECTED_KEPT = {
    "large_final": {1, 2, 4},                 # |w_f| = .12 .6 .35 0 .3 .27
    "small_final": {0, 3, 5},
    "large_init": {0, 2, 3},                  # |w_i| = .5 .1 .3 .4 .05 .2
    "small_init": {1, 4, 5},
    "large_init_large_final": {0, 2, 5},      # min = .12 .1 .3 0 .05 .2
    "small_init_small_final": {2, 4, 5},      # max = .5 .6 .35 .4 .3 .27
    "magnitude_increase": {1, 4, 5},          # |w_f| - |w_i| = -.38 .5 .05 -.4 .25 .07
    "movement": {0, 1, 3},                    # |w_f - w_i| = .38 .5 .05 .4 .35 .07
    "large_final_same_sign": {1, 2, 5},       # same sign: 0 1 2 5 (and 3: sign 0 != -), largest |w_f| of those
}


def _kept(mask: torch.Tensor) -> set[int]:
    return set(mask.flatten().nonzero().flatten().tolist())


@pytest.mark.parametrize("criterion", sorted(EXPECTED_KEPT))
def test_each_criterion_keeps_the_positions_its_definition_picks(criterion):
    scores = criterion_scores(criterion, {"w": W_I}, {"w": W_F}, ["w"], seeds=[0])
    masks = keep_by_score(scores, ["w"], {"w": 0.5}, rounds=1)
    assert _kept(masks["w"]) == EXPECTED_KEPT[criterion]


def test_criteria_treat_each_member_alone_and_random_keeps_the_count():
    reversed_ = {"w": torch.cat([W_I, W_I.flip(1)])}, {"w": torch.cat([W_F, W_F.flip(1)])}
    masks = keep_by_score(criterion_scores("movement", *reversed_, ["w"], [0, 1]), ["w"], {"w": 0.5}, 1)
    assert _kept(masks["w"][0]) == EXPECTED_KEPT["movement"]
    assert _kept(masks["w"][1]) == {5 - i for i in EXPECTED_KEPT["movement"]}
    big = {"w": torch.randn(2, 1000, generator=torch.Generator().manual_seed(0))}
    one = keep_by_score(criterion_scores("random", big, big, ["w"], [7, 8]), ["w"], {"w": 0.3}, 1)["w"]
    alone = keep_by_score(criterion_scores("random", {"w": big["w"][1:]}, {"w": big["w"][1:]}, ["w"], [8]),
                          ["w"], {"w": 0.3}, 1)["w"]
    assert one.sum(1).tolist() == [700, 700] and torch.equal(one[1:], alone)
    assert not torch.equal(one[0], one[1])


def test_ranks_match_a_stable_argsort():
    scores = torch.tensor([[3.0, 1.0, 3.0, 0.5, 1.0]])
    assert ranks(scores).tolist() == [[3.0, 1.0, 4.0, 0.0, 2.0]]


def test_keep_by_score_follows_per_layer_rates_over_rounds():
    scores = {"a": torch.arange(100.0).view(1, 10, 10), "b": torch.arange(10.0).view(1, 1, 10)}
    masks = keep_by_score(scores, ["a", "b"], {"a": 0.2, "b": 0.1}, rounds=3)
    assert int(masks["a"].sum()) == 51 and int(masks["b"].sum()) == 7      # 100->80->64->51, 10->9->8->7
    assert _kept(masks["a"]) == set(range(49, 100))                         # the highest scores


MASK = torch.tensor([[True, False, True, False, False, True]])
FRESH = torch.tensor([[-0.7, 0.9, 0.8, -0.2, 0.4, -0.6]])


def _values(action, seeds=(3,)):
    return start_values(action, {"w": W_I, "b": torch.zeros(1, 2)}, {"w": MASK}, {"w": FRESH}, list(seeds), ["w"])


def test_mask1_actions_give_the_values_their_definitions_say():
    kept = MASK[0]
    assert torch.equal(_values("rewind")["w"][0], torch.where(kept, W_I[0], 0.0))
    assert torch.equal(_values("reinit")["w"][0], torch.where(kept, FRESH[0], 0.0))
    signed = _values("reinit_init_sign")["w"][0]
    assert torch.equal(signed, torch.where(kept, FRESH[0].abs() * W_I[0].sign(), 0.0))
    shuffled = _values("reshuffle", seeds=(11,))["w"][0]
    assert sorted(shuffled[kept].tolist()) == sorted(W_I[0][kept].tolist())
    assert torch.equal(shuffled[~kept], torch.zeros(3))
    shuffled_signed = _values("reshuffle_init_sign", seeds=(11,))["w"][0]
    assert torch.equal(shuffled_signed.abs(), shuffled.abs())
    assert torch.equal(shuffled_signed[kept].sign(), W_I[0][kept].sign())
    alpha = float(W_I.std(unbiased=False))
    assert float(layer_init_std(W_I)) == pytest.approx(alpha)
    for action in ("constant", "constant_init_sign"):
        values = _values(action, seeds=(5,))["w"][0]
        assert torch.allclose(values[kept].abs(), torch.full((3,), alpha)) and torch.equal(values[~kept], torch.zeros(3))
    assert torch.equal(_values("constant_init_sign")["w"][0][kept].sign(), W_I[0][kept].sign())
    signs = torch.stack([_values("constant", seeds=(s,))["w"][0][kept].sign() for s in range(20)])
    assert (signs == 1).any() and (signs == -1).any()                       # random signs, not the init's
    assert torch.equal(_values("reshuffle", seeds=(11,))["w"], shuffled.unsqueeze(0))   # reproducible
    assert torch.equal(_values("rewind")["b"], torch.zeros(1, 2))            # biases as initialised


def test_mask0_actions_freeze_the_pruned_weights_their_definitions_say():
    pruned = ~MASK[0]                                        # positions 1, 3, 4
    zero = frozen_values("zero", {"w": W_I}, {"w": W_F}, {"w": MASK}, ["w"])["w"][0]
    assert torch.equal(zero, torch.zeros(6))
    init = frozen_values("freeze_init", {"w": W_I}, {"w": W_F}, {"w": MASK}, ["w"])["w"][0]
    assert torch.equal(init, torch.where(pruned, W_I[0], 0.0))
    away = frozen_values("freeze_moved_away", {"w": W_I}, {"w": W_F}, {"w": MASK}, ["w"])["w"][0]
    # pruned 1: |-.6| > |-.1| moved away (frozen at -0.1); 3: 0 < .4 toward zero (0); 4: .3 > .05 away (frozen)
    assert away.tolist() == pytest.approx([0.0, -0.1, 0.0, 0.0, 0.05, 0.0])


def _mlp_reference(weights, biases, x):
    h = x
    for i, (w, b) in enumerate(zip(weights, biases)):
        h = F.linear(h, w, b)
        if i < len(weights) - 1:
            h = torch.relu(h)
    return h


def test_frozen_weights_model_adds_the_frozen_values_and_trains_the_rest_only():
    base = PopulationMLP((5, 4, 3))
    params = base.init_params([1], "glorot_normal")
    mask = torch.rand(1, 4, 5, generator=torch.Generator().manual_seed(0)) > 0.5
    frozen = {"fc0.weight": torch.where(mask, 0.0, torch.full((1, 4, 5), 0.3)), "fc1.weight": torch.zeros(1, 3, 4)}
    model = WithFrozenWeights(base, ("fc0.weight", "fc1.weight"))
    trained = {**params, "fc0.weight": params["fc0.weight"] * mask}
    x = torch.randn(7, 5)
    got = model.forward(model.with_frozen(trained, frozen), x)
    want = _mlp_reference([trained["fc0.weight"][0] + frozen["fc0.weight"][0], params["fc1.weight"][0]],
                          [params["fc0.bias"][0], params["fc1.bias"][0]], x)
    assert torch.allclose(got[0], want, atol=1e-6)
    assert set(model.buffer_names) == {"frozen:fc0.weight", "frozen:fc1.weight"}


def test_supermask_uses_the_weights_with_positive_scores_and_passes_the_sigmoid_gradient():
    base = PopulationMLP((4, 3, 2))
    fixed = base.init_params([2], "glorot_normal")
    scores = {n: torch.randn(fixed[n].shape, generator=torch.Generator().manual_seed(i)).requires_grad_()
              for i, n in enumerate(base.layer_names)}
    model = Supermask(base, tuple(base.layer_names))
    x = torch.randn(6, 4)
    out = model.forward(model.params(fixed, scores), x)
    weights = [fixed[n][0] * (scores[n][0] > 0) for n in base.layer_names]
    assert torch.allclose(out[0], _mlp_reference(weights, [fixed["fc0.bias"][0], fixed["fc1.bias"][0]], x), atol=1e-6)
    out.sum().backward()
    # straight through: d out / d score = d out / d (masked weight) * weight * sigmoid'(score)
    w = [fixed[n][0].clone().requires_grad_() for n in base.layer_names]
    masked = [wi * (scores[n][0] > 0) for wi, n in zip(w, base.layer_names)]
    masked[0].retain_grad(), masked[1].retain_grad()
    _mlp_reference(masked, [fixed["fc0.bias"][0], fixed["fc1.bias"][0]], x).sum().backward()
    for i, n in enumerate(base.layer_names):
        sig = torch.sigmoid(scores[n][0].detach())
        assert torch.allclose(scores[n].grad[0], masked[i].grad * fixed[n][0] * sig * (1 - sig), atol=1e-6)


TINY = DeconstructConfig(hidden_sizes=[24, 12], iterations=120, eval_every=20, patience=40, trials=2, batch_size=16,
                         levels=[1, 3], supermask_levels=[1, 2], learned_iterations=60,
                         criteria=["large_final", "magnitude_increase", "random"],
                         mask1_actions=["reinit", "constant_init_sign"], mask0_actions=["freeze_init", "freeze_moved_away"])


def _run(config, tmp_path, name):
    return DeconstructLottery(config, tiny_data(), torch.device("cpu"), tmp_path / f"{name}.pt", progress=False).run()


def test_every_variant_trains_as_a_population_member_exactly_as_alone(tmp_path):
    together = _run(TINY, tmp_path, "together")
    alone = _run(dataclasses.replace(TINY, criteria=["large_final"], mask1_actions=["constant_init_sign"],
                                     mask0_actions=["freeze_moved_away"]), tmp_path, "alone")
    for both, single in zip(together["levels"], alone["levels"]):
        for role in ("criterion/large_final", "mask1/constant_init_sign", "mask0/freeze_moved_away"):
            assert both["variants"][role] == single["variants"][role], role
        assert set(both["variants"]) == {"criterion/large_final", "criterion/magnitude_increase", "criterion/random",
                                         "mask1/reinit", "mask1/constant_init_sign", "mask0/freeze_init",
                                         "mask0/freeze_moved_away"}
    assert together["dense"] == alone["dense"] and together["supermasks"] == alone["supermasks"]
    assert together["learned_supermask"]["pm"][0] < 1.0
    pm = [lv["pm"] for lv in together["levels"]]
    assert pm[0] > pm[1] and all(len(v["early_stop_accuracy"]) == 2 for v in together["levels"][0]["variants"].values())


def test_resumed_run_gives_the_uninterrupted_results(tmp_path):
    whole = _run(TINY, tmp_path, "whole")
    lottery = DeconstructLottery(TINY, tiny_data(), torch.device("cpu"), tmp_path / "part.pt", progress=False)
    state = {"fingerprint": lottery.driver.fingerprint, "dense": None, "plain": None, "frozen": None, "supermasks": None,
             "learned": None}
    full = _run(TINY, tmp_path, "part")                        # writes part.pt with every step done
    saved = torch.load(tmp_path / "part.pt", weights_only=True)
    partial = {**state, "dense": saved["dense"], "trained": saved["trained"], "plain": saved["plain"],
               "done": ["dense", "plain"]}
    torch.save(partial, tmp_path / "part.pt")
    assert _run(TINY, tmp_path, "part") == whole == full


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"deconstruct\.criteria\[1\] = 'biggest'.*one of large_final"):
        build(DeconstructConfig, {"criteria": ["large_final", "biggest"]}, "deconstruct")
    with pytest.raises(ConfigError, match="must contain large_final"):
        build(DeconstructConfig, {"criteria": ["movement"]}, "deconstruct")
    with pytest.raises(ConfigError, match="levels must differ"):
        build(DeconstructConfig, {"levels": [2, 2]}, "deconstruct")
    assert set(MASK1_ACTIONS) - set(DeconstructConfig().mask1_actions) == {"rewind"}


def test_conv_net_runs_every_variant_and_its_report_part_renders(tmp_path):
    from lth.data import DeviceData, Split
    from lth.report.deconstruct import conv_part
    g = torch.Generator().manual_seed(0)
    split = lambda n: Split(torch.randn(n, 3, 32, 32, generator=g), torch.arange(n) % 10)     # noqa: E731
    data = DeviceData(train=split(48), validation=split(16), test=split(16))
    config = dataclasses.replace(TINY, nets=["conv2"], conv_width=0.125, conv_iterations=[40, 40, 40],
                                 batch_size=8, learned_iterations=20, mask1_actions=["constant_init_sign"],
                                 mask0_actions=["freeze_moved_away"])
    lottery = DeconstructLottery(config, data, torch.device("cpu"), tmp_path / "c.pt", progress=False, net="conv2")
    assert lottery.rates["conv0.weight"] == 0.1 and lottery.rates["fc2.weight"] == config.output_rate
    result = lottery.run()
    assert set(result["levels"][0]["variants"]) == {"criterion/large_final", "criterion/magnitude_increase",
                                                    "criterion/random", "mask1/constant_init_sign",
                                                    "mask0/freeze_moved_away"}
    record = {"profile": "test", "net": "conv2", "config": dataclasses.asdict(config),
              "environment": {"device": "cpu", "torch": "-", "torchvision": "-", "python": "-"}, **result}
    text, verdicts = conv_part(json_roundtrip(record), "conv2", tmp_path)
    assert "### Conv-2 (CIFAR-10)" in text and (tmp_path / "deconstruct_conv2_criteria.png").exists()
    assert all(v.claim.key.endswith("_conv2") for v in verdicts)
    assert all(v.verdict == "not testable at this profile" for v in verdicts)   # width 1/8: reduced scale


def json_roundtrip(record):
    import json
    return json.loads(json.dumps(record))
