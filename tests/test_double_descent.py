"""Double descent and tickets: label noise, parameter counts, the config's cross-key rules, the dense curve against
the lottery's dense level, and the report's verdict rules on hand-made curves."""
import pytest
import torch
from torch import nn

from lth.config import ConfigError
from lth.data import DeviceData, Split
from lth.experiments.double_descent import (DoubleDescentConfig, dense_curves, dense_point, noisy_labels,
                                            parameter_count,
                                            study_data, ticket_levels, ticket_lottery)
from lth.report.double_descent import dense_at, peak_verdict, sparse_verdict
from lth.report.double_descent_claims import CLAIMS
from lth.report.ledger.records import FAILS, HOLDS
from lth.shared.driver import StudyDriver

CLAIM = {c.key: c for c in CLAIMS}


def test_noisy_labels_move_exactly_the_fraction_to_another_class_and_repeat():
    labels = torch.arange(1000) % 10
    noisy = noisy_labels(labels, 0.2, seed=3)
    moved = noisy != labels
    assert int(moved.sum()) == 200                          # every chosen label moves to a *different* class
    assert noisy.min() >= 0 and noisy.max() <= 9
    assert torch.equal(noisy, noisy_labels(labels, 0.2, seed=3))
    assert not torch.equal(noisy, noisy_labels(labels, 0.2, seed=4))
    assert torch.equal(noisy_labels(labels, 0.0, seed=3), labels)


@pytest.mark.parametrize("width", [1, 7, 512])
def test_parameter_count_matches_a_plain_module(width):
    plain = nn.Sequential(nn.Linear(784, width), nn.ReLU(), nn.Linear(width, 10))
    assert parameter_count(width) == sum(p.numel() for p in plain.parameters())


@pytest.mark.parametrize("bad, message", [
    (dict(ticket_widths=[24]), "ticket_widths"),
    (dict(ticket_noise=0.1), "ticket_noise"),
    (dict(patience=200), "patience"),
])
def test_config_refuses_what_the_study_cannot_run(bad, message):
    with pytest.raises(ConfigError, match=message):
        DoubleDescentConfig(**bad).check("double_descent")


def _mnist_like(seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(500, 784, generator=generator)
    y = (x[:, :10] * 10).argmax(1)
    return DeviceData(Split(x[:300], y[:300]), Split(x[300:400], y[300:400]), Split(x[400:], y[400:]))


SMALL = dict(train_examples=200, widths=[4, 16], ticket_widths=[16], label_noise=[0.0, 0.25], ticket_noise=0.25,
             iterations=30, eval_every=10, batch_size=20, trials=2, rounds=1, validation_examples=50,
             curve_examples=60)


def test_ticket_dense_level_is_the_dense_curve_net_of_its_width(tmp_path):
    """Two code paths (the dense curve's population, the lottery's round 0) give one net: same init, noisy labels
    and batches; the pruned level keeps the biases and Pm x weights."""
    config, data, cpu = DoubleDescentConfig(**SMALL), _mnist_like(), torch.device("cpu")
    driver = StudyDriver(tmp_path / "dense.pt", "f", "dd", cpu, progress=False)
    curves = dense_curves(config, data, cpu, driver, progress=False)
    point = next(p for p in curves[1]["points"] if p["width"] == 16)
    results = ticket_lottery(config, study_data(config, data, 0.25), 16, cpu, tmp_path / "t.pt", progress=False).run()
    levels = ticket_levels(results, 16)
    assert levels[0]["ticket"]["test_error"] == pytest.approx(point["test_error"], abs=1e-3)
    pruned = levels[1]["ticket"]
    weights = 784 * 16 + 16 * 10
    assert pruned["parameters"][0] == round(pruned["pm"][0] * weights) + 16 + 10
    assert len(point["curves"]["iterations"]) == 4 and point["curves"]["iterations"][-1] == 30


def _points(errors, sizes=(1_000, 10_000, 40_000, 100_000, 400_000)):
    return [{"width": i, "parameters": s, "test_error": e} for i, (s, e) in enumerate(zip(sizes, errors))]


def test_peak_verdict_holds_only_for_a_clear_peak_near_the_threshold():
    peaked = _points([[20, 20.5, 19.5], [15, 15.2, 14.8], [30, 31, 29], [18, 18.5, 17.5], [12, 12.4, 11.6]])
    assert peak_verdict(CLAIM["dd_peak_noisy"], peaked, 40_000).verdict == HOLDS
    falling = _points([[30, 31, 29], [25, 25.5, 24.5], [20, 20.5, 19.5], [15, 15.5, 14.5], [10, 10.5, 9.5]])
    no_peak = peak_verdict(CLAIM["dd_peak_noisy"], falling, 40_000)
    assert no_peak.verdict == FAILS and no_peak.margin < -0.5 and no_peak.measured == pytest.approx(-5.0)
    far = _points([[20, 20.5, 19.5], [35, 36, 34], [18, 18.5, 17.5], [15, 15.5, 14.5], [12, 12.4, 11.6]])
    verdict = peak_verdict(CLAIM["dd_peak_noisy"], far, 400_000)      # the peak at 10,000 is 40x below
    assert verdict.verdict == FAILS and "factor" in verdict.why


def test_sparse_verdict_needs_worse_better_worse():
    def levels(means):
        return [{"ticket": {"pm": [0.5 ** i], "test_error": [m - 0.3, m, m + 0.3]}} for i, m in enumerate(means)]
    assert sparse_verdict(CLAIM["he_sparse_double_descent"], levels([10, 14, 16, 12, 11, 20])).verdict == HOLDS
    rising = sparse_verdict(CLAIM["he_sparse_double_descent"], levels([10, 11, 12, 13, 14, 15]))
    assert rising.verdict == FAILS and rising.margin < 0 and "level pairs" in rising.tolerance_how
    assert sparse_verdict(CLAIM["he_sparse_double_descent"], levels([10, 14, 12, 11, 10.5, 9])).verdict == FAILS


def test_dense_at_interpolates_in_log_parameters():
    points = _points([[10, 10], [20, 20]], sizes=(1_000, 100_000))
    error, spread = dense_at(points, 10_000)                  # halfway in log parameters
    assert error == pytest.approx(15.0)
    assert dense_at(points, 500) is None and dense_at(points, 200_000) is None


def test_report_page_from_a_real_tiny_run(tmp_path):
    """The page renders from the stage functions' own output: its three figures, both tables and one verdict per
    statement."""
    import dataclasses
    import json

    from lth.report.double_descent import double_descent_section
    config, data, cpu = DoubleDescentConfig(**{**SMALL, "widths": [2, 4, 16, 32], "rounds": 3}), _mnist_like(), \
        torch.device("cpu")
    driver = StudyDriver(tmp_path / "dense.pt", "f", "dd", cpu, progress=False)
    curves = dense_curves(config, data, cpu, driver, progress=False)
    results = ticket_lottery(config, study_data(config, data, 0.25), 16, cpu, tmp_path / "t.pt", progress=False).run()
    head = {"profile": "smoke", "config": dataclasses.asdict(config),
            "environment": {"device": "cpu", "torch": "x", "torchvision": "y", "python": "3.11"},
            "threshold_parameters": config.train_examples * 10}
    folder, figures = tmp_path / "results" / "double_descent", tmp_path / "figures"
    folder.mkdir(parents=True), figures.mkdir()
    (folder / "dense.json").write_text(json.dumps({**head, "curves": curves}))
    (folder / "tickets.json").write_text(json.dumps({**head, "noise": 0.25, "runs": [
        {"width": 16, "parameters": parameter_count(16), "levels": ticket_levels(results, 16)}]}))
    section = double_descent_section(tmp_path / "results", figures)
    assert {p.name for p in figures.iterdir()} == {"double_descent_curve.png", "double_descent_sparsity.png",
                                                  "double_descent_losses.png"}
    assert "| label noise | width |" in section.markdown and "| width | Pm |" in section.markdown
    assert sorted(v.claim.key for v in section.verdicts) == sorted(c.key for c in CLAIMS)


def test_classical_verdict_tells_tickets_like_small_dense_nets_from_tickets_like_the_wide_net():
    """Dense errors by width 4 / 16 / 64 (1,000 / 10,000 / 100,000 parameters, threshold 20,000): 30, 20, 10%.
    Tickets of width 64 at 10,000 parameters erring 20% are like dense nets of their size (holds); erring 10%,
    they kept the wide net's error (fails); a level above the threshold is not what the statement reads."""
    from lth.report.double_descent import classical_verdict
    points = [{"width": w, "parameters": n, "test_error": [e - 0.5, e, e + 0.5]}
              for w, n, e in ((4, 1_000, 30.0), (16, 10_000, 20.0), (64, 100_000, 10.0))]
    dense = {"threshold_parameters": 20_000, "curves": [{"noise": 0.2, "points": points}]}

    def tickets(error, parameters=10_000):
        level = {"ticket": {"pm": [0.1], "parameters": [parameters] * 3, "test_error": [error - 0.5, error,
                                                                                           error + 0.5]}}
        return {"noise": 0.2, "runs": [{"width": 64, "levels": [{"ticket": {"pm": [1.0]}}, level]}]}
    claim = CLAIM["dd_tickets_classical"]
    assert classical_verdict(claim, dense, tickets(20.0)).verdict == HOLDS
    kept = classical_verdict(claim, dense, tickets(10.0))
    assert kept.verdict == FAILS and "better than dense nets" in kept.why
    assert classical_verdict(claim, dense, tickets(20.0, parameters=50_000)).verdict not in (HOLDS, FAILS)


def test_widths_as_one_masked_population_train_like_each_width_alone(tmp_path):
    """``one_population``: every width as a member of one population of the widest nets, units past its width
    masked, gives each width's point as training that width's nets alone does (same init, labels, batches;
    float rounding apart), and the masked units' weights and biases stay exactly zero."""
    from lth.experiments.double_descent import (_train_population, batch_seeds, masked_widths, one_hidden_net,
                                                widened)
    from lth.shared.population import ticket_init
    widths = [3, 7, 16]
    config = DoubleDescentConfig(**{**SMALL, "widths": widths, "iterations": 60, "lr": 3e-3})
    data, cpu = study_data(config, _mnist_like(), 0.25), torch.device("cpu")
    curve_test = data.test
    together = masked_widths(config, data, cpu, curve_test, progress=False)
    alone = [dense_point(config, data, width, cpu, curve_test, progress=False) for width in widths]
    for one, other in zip(together, alone):
        assert one["width"] == other["width"] and one["parameters"] == other["parameters"]
        assert one["test_error"] == pytest.approx(other["test_error"], abs=1e-9)
        assert one["train_error"] == pytest.approx(other["train_error"], abs=1e-9)
        for key in ("test_loss", "train_loss"):
            assert one[key] == pytest.approx(other[key], rel=1e-4), key
        for key in ("train_loss", "test_loss"):
            for a, b in zip(one["curves"][key], other["curves"][key]):
                assert a == pytest.approx(b, rel=1e-4)
    assert alone[0]["train_loss"] != pytest.approx(alone[2]["train_loss"], rel=1e-2)   # widths differ
    params, masks = widened(ticket_init(one_hidden_net(3), config, cpu)[1], 16)
    result, _, _ = _train_population(config, data, one_hidden_net(16), params, masks, batch_seeds(config), cpu,
                                     curve_test, None)
    assert result.params["fc0.weight"][:, 3:].abs().max() == 0 and result.params["fc0.bias"][:, 3:].abs().max() == 0
    assert result.params["fc1.weight"][:, :, 3:].abs().max() == 0
    assert result.params["fc0.weight"][:, :3].abs().min() > 0


def test_the_curve_with_one_population_has_the_same_points(tmp_path):
    """The stage's switch: ``dense_curves`` with ``one_population`` yields every (noise, width) point in order."""
    config, data, cpu = DoubleDescentConfig(**{**SMALL, "one_population": True}), _mnist_like(), torch.device("cpu")
    driver = StudyDriver(tmp_path / "dense.pt", "f", "dd", cpu, progress=False)
    curves = dense_curves(config, data, cpu, driver, progress=False)
    assert [c["noise"] for c in curves] == [0.0, 0.25]
    assert [[p["width"] for p in c["points"]] for c in curves] == [[4, 16], [4, 16]]
