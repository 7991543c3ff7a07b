"""The v1 parameter sweeps: settings trained together give exactly what each gives trained alone; init scales
share their draws; sizes resume."""
import pytest
import torch

import lth.shared.population as population
from lth.config import ConfigError
from lth.experiments.sweeps import (InitScaleConfig, NetworkSizeConfig, PruningRateConfig, Setting, SweepLottery,
                                    init_scale_settings, pruning_rate_settings, run_size_sweep)
from lottery_run import tiny_data

SMALL = dict(hidden_sizes=[24, 12], iterations=120, eval_every=20, patience=40, trials=2, batch_size=16,
             min_remaining=0.3)


def _two_settings(config, names):
    return [Setting("a", 0.2, 0.1, {n: (0.1 if n == names[-1] else 0.2) for n in names}),
            Setting("b", 0.5, 0.05, {n: (0.25 if n == names[-1] else 0.5) for n in names})]


def _run(make, tmp_path, name):
    config = InitScaleConfig(**SMALL)
    return SweepLottery(config, make, tiny_data(), torch.device("cpu"), tmp_path / f"{name}.pt", progress=False).run()


def test_settings_trained_together_match_each_trained_alone(tmp_path):
    """Different init scales and pruning rates in one population: every member's results are those of its
    setting trained alone (its own batch order, its own masks), round by round; the faster-pruned setting
    leaves the population when it reaches the target."""
    together = {s["label"]: s for s in _run(_two_settings, tmp_path, "both")["settings"]}
    for index in (0, 1):
        alone = _run(lambda c, n, i=index: [_two_settings(c, n)[i]], tmp_path, f"alone{index}")["settings"][0]
        assert together[alone["label"]]["rounds"] == alone["rounds"]
    assert len(together["b"]["rounds"]) < len(together["a"]["rounds"])      # rate 0.5 reaches 30% sooner
    last = together["b"]["rounds"][-1]["ticket"]["pm"][0]
    assert last <= 0.3 < together["b"]["rounds"][-2]["ticket"]["pm"][0]


def test_init_scales_share_their_draws_and_rates_prune_the_output_at_half(tmp_path):
    config = InitScaleConfig(**SMALL, init_stds=[0.05, 0.2])
    run = SweepLottery(config, init_scale_settings, tiny_data(), torch.device("cpu"), tmp_path / "i.pt",
                       progress=False)
    T = config.trials
    for name in run.names:
        assert torch.allclose(run.init[name][T:], 4 * run.init[name][:T], rtol=1e-6, atol=0)
        assert not torch.equal(run.init[name][0], run.init[name][1])                # trials differ
    rates = pruning_rate_settings(PruningRateConfig(**SMALL, hidden_rates=[0.4, 0.8]), run.names)
    assert [s.rates for s in rates] == [{"fc0.weight": 0.4, "fc1.weight": 0.4, "fc2.weight": 0.2},
                                        {"fc0.weight": 0.8, "fc1.weight": 0.8, "fc2.weight": 0.4}]


def test_size_sweep_trains_every_size_and_keeps_finished_ones(monkeypatch, tmp_path):
    config = NetworkSizeConfig(**{**SMALL, "hidden_sizes": [24, 12]}, first_widths=[12, 24], one_shot_rounds=[1, 2])
    first = run_size_sweep(config, tiny_data(), torch.device("cpu"), tmp_path, progress=False)
    assert [s["label"] for s in first["sizes"]] == ["12-4", "24-8"]
    assert first["sizes"][0]["weights_total"] == 30 * 12 + 12 * 4 + 4 * 10
    for size in first["sizes"]:
        assert [lv["round"] for lv in size["one_shot"]] == [1, 2] and set(size["one_shot"][0]) == {"round", "ticket"}
        assert set(size["rounds"][1]) >= {"ticket"} and "reinit" not in size["rounds"][1]
    monkeypatch.setattr(population, "train_in_processes", lambda *a, **k: pytest.fail("a finished size was retrained"))
    assert run_size_sweep(config, tiny_data(), torch.device("cpu"), tmp_path, progress=False) == first
    with pytest.raises(ConfigError, match=r"sweep_network_size\.one_shot_rounds contains 9"):
        run_size_sweep(NetworkSizeConfig(**SMALL, first_widths=[12], one_shot_rounds=[9]), tiny_data(),
                       torch.device("cpu"), tmp_path / "x", progress=False)
