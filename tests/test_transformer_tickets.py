"""The population transformer against a per-member reference written with plain tensor operations; the character
windows; the config's rules; pruned weights staying zero; late rewinding's restart weights; the report page from a
real tiny run."""
import dataclasses
import json
import math

import pytest
import torch

from lth.config import ConfigError
from lth.core.engine import TrainJob, TrainSettings, train_population
from lth.core.transformer import PopulationTransformer
from lth.data import Split
from lth.experiments.transformer_tickets import (RewoundLottery, TransformerConfig, char_data, model_for,
                                                 rewound_weights)
from lth.report.transformer_tickets import transformer_tickets_section
from lth.report.transformer_tickets_claims import CLAIMS

from bench.plain_transformer import PlainTransformer


def _reference(p: dict, x: torch.Tensor, model: PopulationTransformer) -> torch.Tensor:
    """One member's logits, step by step: embeddings, per block a causal softmax attention head by head and a
    ReLU feed-forward layer (pre-norm), the output at the last position."""
    def norm(v):
        return (v - v.mean(-1, keepdim=True)) / torch.sqrt(v.var(-1, unbiased=False, keepdim=True) + 1e-5)
    t, d, heads = x.shape[1], model.width, model.heads
    h = p["embed.token"][x] + p["embed.position"][:t]
    causal = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
    for i in range(model.layers):
        a = norm(h)
        q, k, v = (a @ p[f"block{i}.{n}"].T for n in ("query", "key", "value"))
        outs = []
        for head in range(heads):
            part = slice(head * d // heads, (head + 1) * d // heads)
            scores = q[..., part] @ k[..., part].transpose(1, 2) / math.sqrt(d // heads)
            outs.append(torch.softmax(scores.masked_fill(causal, float("-inf")), -1) @ v[..., part])
        h = h + torch.cat(outs, -1) @ p[f"block{i}.out"].T
        inner = torch.relu(norm(h) @ p[f"block{i}.ff_in"].T + p[f"block{i}.ff_in_bias"])
        h = h + inner @ p[f"block{i}.ff_out"].T + p[f"block{i}.ff_out_bias"]
    return norm(h[:, -1]) @ p["head.weight"].T + p["head.bias"]


def test_population_transformer_matches_a_per_member_reference():
    model = PopulationTransformer(vocab=11, context=6, width=12, heads=3, layers=2, ff=20)
    params = model.init_params([4, 5, 6])
    params["head.bias"] = torch.randn_like(params["head.bias"])            # nonzero biases are exercised too
    params["block1.ff_in_bias"] = torch.randn_like(params["block1.ff_in_bias"])
    x = torch.randint(0, 11, (7, 6), generator=torch.Generator().manual_seed(0))
    logits = model.forward(params, x)
    per_member = torch.randint(0, 11, (3, 7, 6), generator=torch.Generator().manual_seed(1))
    own = model.forward(params, per_member)
    for k in range(3):
        member = {n: t[k] for n, t in params.items()}
        assert torch.allclose(logits[k], _reference(member, x, model), atol=1e-5)
        assert torch.allclose(own[k], _reference(member, per_member[k], model), atol=1e-5)
    assert model.parameter_count() == sum(t[0].numel() for t in params.values())


def test_training_gives_the_same_bits_every_run():
    """Repeated token ids sum their embedding gradients in a fixed order (advanced indexing's backward did not:
    one member's weights differed between two runs of the same training)."""
    model = PopulationTransformer(vocab=9, context=6, width=16, heads=2, layers=2, ff=16)
    x = torch.randint(0, 9, (300, 6), generator=torch.Generator().manual_seed(5))
    runs = [train_population(TrainJob(model, model.init_params([0, 1, 2]), {}, TrainSettings(iterations=60,
            batch_size=32, lr=3e-3), Split(x, x[:, -1]), [0, 1, 2])).params for _ in range(3)]
    for name in runs[0]:
        assert torch.equal(runs[0][name], runs[1][name]) and torch.equal(runs[0][name], runs[2][name]), name


def test_pruned_attention_and_feed_forward_weights_stay_zero():
    model = PopulationTransformer(vocab=7, context=4, width=8, heads=2, layers=1, ff=8)
    params = model.init_params([0, 1])
    masks = {n: torch.rand(params[n].shape, generator=torch.Generator().manual_seed(2)) > 0.5
             for n in model.layer_names}
    x = torch.randint(0, 7, (40, 4), generator=torch.Generator().manual_seed(3))
    job = TrainJob(model, params, masks, TrainSettings(iterations=15, batch_size=8, lr=1e-2),
                   Split(x, x[:, 0]), [0, 1])
    trained = train_population(job).params
    for name in model.layer_names:
        assert torch.all(trained[name][~masks[name]] == 0) and torch.any(trained[name][masks[name]] != 0)


def test_character_windows_follow_the_text_in_order():
    text = "".join(chr(97 + (i * 7) % 13) for i in range(500))
    config = TransformerConfig(context=5, stride=3, eval_examples=20)
    data, vocab = char_data(config, torch.device("cpu"), text)
    decode = "".join
    train_x, train_y = data.train.x, data.train.y
    assert decode(vocab[i] for i in train_x[2].tolist()) == text[6:11] and vocab[train_y[2]] == text[11]
    assert len(data.validation) == 20 and len(data.test) == 20
    first_test = decode(vocab[i] for i in data.test.x[0].tolist())
    assert first_test == text[450:455]                                 # the last 10% of the text
    assert data.source_sha256 and len(vocab) == 13


@pytest.mark.parametrize("bad, message", [(dict(heads=5), "heads"), (dict(rewind_iterations=[0, 3000]), "rewind")])
def test_config_refuses_what_cannot_run(bad, message):
    with pytest.raises(ConfigError, match=message):
        TransformerConfig(**bad).check("transformer_tickets")


TINY = dict(context=4, width=8, heads=2, layers=1, ff=8, stride=7, eval_examples=30, iterations=30, eval_every=10,
            patience=10, batch_size=16, rounds=2, rewind_iterations=[0, 10], trials=2)


def _text():
    return "".join("the quick brown fox jumps over the lazy dog "[(i * 5) % 44] for i in range(1200))


def test_late_rewinding_restarts_from_the_dense_weights_at_k(tmp_path):
    config, cpu = TransformerConfig(**TINY), torch.device("cpu")
    data, vocab = char_data(config, cpu, _text())
    model = model_for(config, len(vocab))
    late = RewoundLottery(config, model, data, 10, cpu, tmp_path / "k10.pt", progress=False)
    expected = rewound_weights(config, model, data, 10, cpu)
    init = RewoundLottery(config, model, data, 0, cpu, tmp_path / "k0.pt", progress=False).init
    for name in expected:
        assert torch.equal(late.init[name], expected[name])
        assert not torch.equal(late.init[name], init[name])
    assert late.controls.reinit_per_ticket == 0 and late.settings.iterations == 20


def test_report_page_from_a_real_tiny_run(tmp_path):
    config, cpu = TransformerConfig(**TINY), torch.device("cpu")
    data, vocab = char_data(config, cpu, _text())
    model, runs = model_for(config, len(vocab)), []
    for k in config.rewind_iterations:
        result = RewoundLottery(config, model, data, k, cpu, tmp_path / f"k{k}.pt", progress=False).run()
        runs.append({"rewind_iteration": k, "rounds": result["rounds"], "weights": result["weights"]})
    per_layer = RewoundLottery(config, model, data, 0, cpu, tmp_path / "lw.pt", progress=False, layerwise=True)
    result = per_layer.run()
    runs.append({"rewind_iteration": 0, "pruning": "layerwise", "rounds": result["rounds"], "weights": {}})
    for name in model.layer_names:                      # every matrix keeps the same share: 0.7 ** 2 after 2 rounds
        assert per_layer.state["ticket_masks"][name].float().mean() == pytest.approx(0.49, abs=0.02)
    assert set(result["rounds"][1]) == {"round", "ticket"}                      # tickets only
    folder, figures = tmp_path / "results" / "transformer", tmp_path / "figures"
    folder.mkdir(parents=True), figures.mkdir()
    (folder / "tickets.json").write_text(json.dumps({
        "profile": "smoke", "config": dataclasses.asdict(config), "runs": runs, "vocab": len(vocab),
        "examples": [len(data.train), len(data.validation), len(data.test)], "parameters": model.parameter_count(),
        "environment": {"device": "cpu", "torch": "x", "torchvision": "y", "python": "3.11"}}))
    section = transformer_tickets_section(tmp_path / "results", figures)
    assert (figures / "transformer_tickets.png").exists() and "| rewound to | Pm |" in section.markdown
    assert "| k = 0, per layer |" in section.markdown
    assert sorted(v.claim.key for v in section.verdicts) == sorted(c.key for c in CLAIMS)


def test_pruned_population_trains_like_torch_nn_modules():
    """Each member of a pruned population, trained by the engine (SGD on the full batch), ends where a torch.nn
    transformer with the same weights ends after the same steps with torch.optim.SGD, its pruned weights held at
    zero by masking their gradients: the population's attention, masks and optimizer against torch's own."""
    model = PopulationTransformer(vocab=9, context=5, width=12, heads=3, layers=2, ff=16)
    params = model.init_params([3, 4])
    generator = torch.Generator().manual_seed(7)
    masks = {n: torch.rand(params[n].shape, generator=generator) > 0.4 for n in model.layer_names}
    for n in model.layer_names:
        params[n] = params[n] * masks[n]
    x = torch.randint(0, 9, (48, 5), generator=torch.Generator().manual_seed(8))
    y = (x.sum(1) % 9)
    trained = train_population(TrainJob(model, params, masks, TrainSettings(iterations=25, batch_size=0,
                                                                            optimizer="sgd", lr=0.3),
                                        Split(x, y), [0, 1])).params
    for k in range(2):
        plain = PlainTransformer(model, {n: t[k] for n, t in params.items()})
        optimizer = torch.optim.SGD(plain.parameters(), lr=0.3)
        for _ in range(25):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(plain(x), y).backward()
            for i, attention in enumerate(plain.attention):
                gate = torch.cat([masks[f"block{i}.{n}"][k] for n in ("query", "key", "value")])
                attention.in_proj_weight.grad *= gate
                attention.out_proj.weight.grad *= masks[f"block{i}.out"][k]
                plain.ff_in[i].weight.grad *= masks[f"block{i}.ff_in"][k]
                plain.ff_out[i].weight.grad *= masks[f"block{i}.ff_out"][k]
            optimizer.step()
        reference = {n: w.detach() for n, w in plain.weights(model).items()}
        assert max(float((trained[n][k] - reference[n]).abs().max()) for n in reference) < 1e-4
        moved = max(float((trained[n][k] - params[n][k]).abs().max()) for n in reference)
        assert moved > 1e-2                      # the comparison is not between two untrained nets


def test_matching_levels_stops_at_the_first_level_significantly_below_dense():
    from lth.report.transformer_tickets import matching_levels

    def level(pm, accuracies):
        return {"ticket": {"pm": [pm] * 3, "early_stop_accuracy": accuracies}}
    dense = level(1.0, [0.80, 0.81, 0.79])
    noisy_but_level = level(0.5, [0.78, 0.83, 0.80])
    far_below = level(0.25, [0.60, 0.61, 0.59])
    recovered = level(0.12, [0.80, 0.81, 0.79])      # after a significant drop: not part of the unbroken run
    matched, gap, tol, below = matching_levels([dense, noisy_but_level, far_below, recovered])
    assert matched is noisy_but_level and below is far_below
    assert abs(gap - (0.80333 - 0.80) * 100) < 1e-2 and tol > abs(gap)
    assert matching_levels([dense, far_below])[0] is None
    assert matching_levels([dense, noisy_but_level])[3] is None


def test_as_sparse_as_lenet_holds_fails_or_waits_for_a_longer_ladder(tmp_path):
    """Hand-made ladders: LeNet matches its dense net down to Pm 10%; the transformer holds when a rewinding
    point matches at or below 10%, fails when every point falls significantly below dense above 10%, and is
    not testable when its ladder ends above 10% still matching."""
    from lth.report.ledger.records import FAILS, HOLDS, UNTESTABLE
    from lth.report.transformer_tickets import as_sparse_as_lenet

    def level(pm, accuracies):
        return {"ticket": {"pm": [pm] * len(accuracies), "early_stop_accuracy": accuracies}}
    dense, same, below = [0.80, 0.81, 0.79], [0.80, 0.80, 0.81], [0.60, 0.61, 0.59]
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "lenet.json").write_text(json.dumps({"rounds": [
        level(1.0, dense + [0.8, 0.8]), level(0.3, same + [0.8, 0.8]), level(0.1, same + [0.8, 0.8]),
        level(0.05, below + [0.6, 0.6])]}))
    claim = next(c for c in CLAIMS if c.key == "tf_as_sparse_as_lenet")

    def verdict(*runs):
        result = {"runs": [{"rewind_iteration": k, "rounds": rounds} for k, rounds in enumerate(runs)]}
        return as_sparse_as_lenet(claim, tmp_path, result)
    to_8 = [level(1.0, dense), level(0.3, same), level(0.08, same)]
    falls_at_20 = [level(1.0, dense), level(0.2, below), level(0.08, same)]
    ends_at_34 = [level(1.0, dense), level(0.34, same)]
    assert verdict(falls_at_20, to_8).verdict == HOLDS and math.isclose(verdict(to_8).measured, 8.0)
    assert verdict(falls_at_20).verdict == FAILS
    waits = verdict(ends_at_34, falls_at_20)
    assert waits.verdict == UNTESTABLE and "ends at Pm 8.0%" not in waits.why and "34.0%" in waits.why
    assert as_sparse_as_lenet(claim, tmp_path / "none", {"runs": []}).verdict == UNTESTABLE
    assert verdict().verdict == UNTESTABLE and verdict([level(1.0, dense)]).verdict == UNTESTABLE
