"""The XOR calibration's ranking and screen, the sensitivity stage's choice of settings and its reuse of the xor
tables, and the report's sensitivity table, on hand-made numbers (tiny trainings where anything trains)."""
import dataclasses
import json
import math
import shutil
from pathlib import Path

import pytest
import torch
import yaml

import lth.experiments.xor_calibration as calibration_stage
from lth.config import ConfigError
from lth.experiments.xor_calibration import XorCalibrationConfig, calibrate, grid
from lth.experiments.xor_sensitivity import check_same_experiment, closest, setting_config
from lth.experiments.xor_sensitivity import stage as sensitivity_stage
from lth.report.ledger.records import CELL, FAILS, HOLDS, STATEMENT
from lth.report.xor_sensitivity import sensitivity_part
from lth.shared.xor_tables import XorConfig, pruning_table
from lth.stage_run import StageRun
from lth.xor_target import XOR_RANDOM_INIT, calibration_distance, ranked

ROOT = Path(__file__).resolve().parents[1]
CHOICE = {"activation": "tanh", "loss": "bce", "optimizer": "adam", "lr": 0.01, "init": "normal", "init_std": 1.0,
          "bias_init": "zero"}


def _rates(offsets):
    """The paper's random-init table with ``offsets[(width, metric)]`` pp added (SEs for 2,000 trials)."""
    out = {}
    for width, (db, zl) in XOR_RANDOM_INIT.items():
        out[str(width)] = {"db": db + offsets.get((width, "db"), 0.0), "zl": zl + offsets.get((width, "zl"), 0.0),
                           "db_se": 1.0, "zl_se": 1.0, "trials": 2000}
    return out


# offsets by hand: largest gaps 7, 3, 3, 10, 1, 6 pp; settings 1 and 2 tie on the largest gap, 2 has the smaller mean
HAND_MADE = [{(2, "db"): -7.0}, {(2, "db"): 3.0, (10, "zl"): -2.0}, {(4, "zl"): 3.0}, {(8, "db"): 10.0},
             {(6, "zl"): -1.0}, {(2, "zl"): 6.0, (4, "db"): 6.0}]


def test_distance_by_hand_and_the_ranking_is_its_argmin():
    settings = [{**CHOICE, "lr": float(i), "rates": _rates(o)} for i, o in enumerate(HAND_MADE)]
    assert calibration_distance(settings[1]["rates"]) == pytest.approx((3.0, 0.5))      # (3 + 2) / 10 numbers
    assert calibration_distance(settings[2]["rates"]) == pytest.approx((3.0, 0.3))
    order = [int(s["lr"]) for s in ranked(settings)]
    assert order == [4, 2, 1, 5, 0, 3]                   # 1 pp; 3 pp (mean 0.3 before 0.5); 6; 7; 10
    assert [int(s["lr"]) for s in ranked(settings + [{**CHOICE, "screen": _rates({})}])] == order   # no rates: out


def test_the_grid_holds_every_combination_once():
    config = XorCalibrationConfig(activations=["relu", "sigmoid"], losses=["bce", "mse"], sgd_lrs=[0.1],
                                  adam_lrs=[0.001, 0.01], inits=["normal", "glorot_normal"], normal_stds=[0.1, 2.0],
                                  bias_inits=["zero"])
    settings = grid(config)
    assert len(settings) == 2 * 2 * 3 * 3
    assert len({tuple(sorted(s.items())) for s in settings}) == len(settings)
    assert {"activation": "sigmoid", "loss": "mse", "optimizer": "adam", "lr": 0.001, "init": "normal",
            "init_std": 0.1, "bias_init": "zero"} in settings


def test_the_screen_reruns_exactly_its_closest_settings_on_fresh_seeds(monkeypatch):
    """A fake measurement: screen distances by hand; the finalists must be the screen's closest, re-measured on
    seeds disjoint from the screen's (the xor stage's), and only they get full-count rates."""
    config = XorCalibrationConfig(trials=10, screen_trials=4, finalists=3, activations=["relu"], losses=["bce"],
                                  sgd_lrs=[], adam_lrs=[0.01], inits=["normal"], normal_stds=[0.5, 1.0, 2.0, 4.0],
                                  bias_inits=["zero", "like_weights"], seed=7)
    screen_gap = {(0.5, "zero"): 9.0, (1.0, "zero"): 2.0, (2.0, "zero"): 5.0, (4.0, "zero"): 1.0,
                  (0.5, "like_weights"): 8.0, (1.0, "like_weights"): 3.0, (2.0, "like_weights"): 4.0,
                  (4.0, "like_weights"): 7.0}
    calls = []

    def fake_measure(config, settings, seeds, device, label, progress=True):
        calls.append((list(seeds), [(s["init_std"], s["bias_init"]) for s in settings]))
        bonus = 0.0 if len(calls) == 1 else 0.5
        return [_rates({(2, "db"): screen_gap[(s["init_std"], s["bias_init"])] + bonus}) for s in settings]

    monkeypatch.setattr(calibration_stage, "measure", fake_measure)
    settings = calibrate(config, torch.device("cpu"), progress=False)
    assert calls[0][0] == list(range(17, 21)) and calls[1][0] == list(range(7, 17))      # disjoint seeds
    assert calls[1][1] == [(4.0, "zero"), (1.0, "zero"), (1.0, "like_weights")]           # the 3 closest, in order
    finalists = [(s["init_std"], s["bias_init"]) for s in settings if "rates" in s]
    assert sorted(finalists) == sorted(calls[1][1]) and all("screen" in s for s in settings)


def test_the_calibration_refuses_a_screen_as_large_as_the_final_run():
    with pytest.raises(ConfigError, match=r"xor_calibration.screen_trials = 10: must be below "
                                          r"xor_calibration.trials \(10\), or 0"):
        XorCalibrationConfig(trials=10, screen_trials=10).check("xor_calibration")


def _calibration(count=8, iterations=1000):
    settings = [{**CHOICE, "lr": float(i), "init_std": 0.0 if i % 2 else 1.0, "init": "glorot_uniform" if i % 2
                 else "normal", "screen": _rates({}), "rates": _rates({(2, "db"): float(10 - i if i < 6 else i)})}
                for i in range(count)]
    settings.append({**CHOICE, "lr": 99.0, "screen": _rates({})})          # screened out: never picked
    return {"profile": "quick", "config": {"iterations": iterations, "zero_loss_threshold": 0.01},
            "settings": settings}


def test_the_sensitivity_takes_exactly_the_five_closest():
    picked = closest(_calibration(), 5)
    # 2-unit DB gaps by hand: lr 0..7 -> 10, 9, 8, 7, 6, 5, 6, 7: the closest are lr 5, then 4 and 6 (tie: grid
    # order), then 3 and 7
    assert [s["lr"] for s in picked] == [5.0, 4.0, 6.0, 3.0, 7.0]
    with pytest.raises(ConfigError, match=r"xor_sensitivity.settings = 9: the calibration ranked only 8 settings"):
        closest(_calibration(), 9)


def test_the_sensitivity_runs_the_xor_experiment_at_each_setting():
    xor = XorConfig(trials=8, iterations=20, seed=3)
    config = setting_config(xor, {**CHOICE, "loss": "mse", "init": "glorot_normal", "init_std": 0.0})
    assert (config.loss, config.init, config.trials, config.iterations, config.seed) == ("mse", "glorot_normal", 8,
                                                                                         20, 3)
    assert config.hidden_units == [4, 2] and config.init_std == xor.init_std
    with pytest.raises(ConfigError, match=r"xor.iterations = 20 but results/xor/calibration.json ran "
                                          r"xor_calibration.iterations = 1000"):
        check_same_experiment(_calibration(), xor)


def test_sensitivity_stage_end_to_end_reuses_the_xor_tables(tmp_path):
    """The stage on a hand-made calibration with tiny xor settings: rows in the calibration's order, each the
    xor tables' own numbers at that setting (the closest's pruning table bit for bit)."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["profile"] = "smoke"
    params["xor"]["profiles"]["smoke"] = {"trials": 8, "iterations": 30}
    params["xor_sensitivity"] = {"settings": 2}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "results" / "xor").mkdir(parents=True)
    calibration = _calibration(iterations=30)
    for s in calibration["settings"]:
        s.update(activation="relu", optimizer="sgd", lr=s["lr"] / 10 + 0.1, loss="mse" if s["lr"] > 0.5 else "bce")
    (tmp_path / "results" / "xor" / "calibration.json").write_text(json.dumps(calibration))
    sensitivity_stage(StageRun(params=tmp_path / "params.yaml", results=tmp_path / "results"))
    result = json.loads((tmp_path / "results" / "xor" / "sensitivity.json").read_text())
    expected = closest(calibration, 2)
    assert [(r["rank"], r["lr"], r["loss"]) for r in result["settings"]] == [(1, expected[0]["lr"], "mse"),
                                                                             (2, expected[1]["lr"], "mse")]
    xor = dataclasses.replace(XorConfig(), trials=8, iterations=30)
    direct = pruning_table(setting_config(xor, expected[0]), torch.device("cpu"), progress=False)
    assert result["settings"][0]["pruning"] == json.loads(json.dumps(direct))
    assert set(result["settings"][1]["random_init"]) == {"4", "2"} and result["xor"]["trials"] == 8


# ------------------------------------------------------------------------------------------ the report
def _rate(db, trials=2000):
    return {"db": db, "db_se": round(100 * math.sqrt(db / 100 * (1 - db / 100) / trials), 3), "zl": 0.0,
            "zl_se": 0.0, "trials": trials}


def _sensitivity(pairs):
    """A sensitivity result whose setting k has 2-unit random DB ``pairs[k][0]`` and iterative product
    tickets ``pairs[k][1]`` (one-shot product 1 pp below; other heuristics 5 pp below)."""
    rows = []
    for rank, (random, ticket) in enumerate(pairs, 1):
        pruning = {"dense": _rate(99.0),
                   "one_shot": {h: {"4": _rate(90.0), "2": _rate(ticket - (1 if h == "product" else 5))}
                                for h in ("input_magnitude", "output_magnitude", "product")},
                   "iterative": {h: {"4": _rate(90.0), "2": _rate(ticket - (0 if h == "product" else 5))}
                                 for h in ("input_magnitude", "output_magnitude", "product")}}
        rows.append({"rank": rank, **CHOICE, "lr": 0.01 * rank, "largest_gap": 10.0 + rank, "mean_gap": 5.0,
                     "random_init": {"4": _rate(80.0), "2": _rate(random)}, "pruning": pruning})
    return {"profile": "quick", "config": {"settings": len(pairs)}, "environment": {},
            "xor": {"trials": 2000, "pruning": {"targets": [4, 2], "start_units": 10}}, "settings": rows}


def _part(tmp_path, sensitivity):
    (tmp_path / "xor").mkdir(exist_ok=True)
    (tmp_path / "xor" / "sensitivity.json").write_text(json.dumps(sensitivity))
    return sensitivity_part(tmp_path)


def test_the_sensitivity_table_and_sentence_read_the_numbers(tmp_path):
    text, verdicts = _part(tmp_path, _sensitivity([(40.0, 80.0), (30.0, 35.0), (50.0, 51.0)]))
    se = math.hypot(_rate(80.0)["db_se"], _rate(40.0)["db_se"])
    assert f"| +40.0 ± {se:.1f} | +39.0 ±" in text                       # iterative and one-shot product gaps
    assert "| 80.0 (iterative product) |" in text and "| 50.0 | 51.0 | 50.0 | 51.0 (iterative product) |" in text
    assert "|  | paper | 0 (target) | 49.1 | 91.5 | 82.4 | 91.5 (iterative product) | +42.4 | +33.3 |" in text
    words = " ".join(text.split())
    assert "between +1.0 and +40.0 pp more often than random 2-unit nets (the paper: +42.4 pp)" in words
    assert "exceeds 1.96 binomial standard errors in 2 of 3 settings and is at least the paper's in 0" in words
    assert "largest with tanh, BCE, adam lr 0.01," in words and "smallest with tanh, BCE, adam lr 0.03," in words
    assert ("One-shot product tickets find it between +0.0 and +39.0 pp more often than random 2-unit nets (below them "
            "in 0 of 3 settings; the paper: +33.3 pp)") in words
    statement, *cells = verdicts
    assert statement.claim.kind == STATEMENT and all(c.claim.kind == CELL for c in cells)
    assert [c.verdict for c in cells] == [HOLDS, HOLDS, FAILS]              # +40, +5 significant; +1 not
    assert statement.verdict == FAILS and statement.measured == 2 and "settings 3)" in statement.why


def test_the_statement_holds_when_every_setting_shows_the_effect(tmp_path):
    _, verdicts = _part(tmp_path, _sensitivity([(40.0, 80.0), (30.0, 45.0)]))
    assert verdicts[0].verdict == HOLDS and verdicts[0].measured == 2


def test_the_xor_section_shows_the_sensitivity_and_lists_its_statement_first(tmp_path):
    """The whole XOR section from the committed xor and calibration results and a hand-made sensitivity."""
    from lth.report.xor import xor_section
    committed = ROOT / "results" / "xor"
    (tmp_path / "xor").mkdir()
    for name in ("results.json", "calibration.json"):
        shutil.copy(committed / name, tmp_path / "xor" / name)
    (tmp_path / "xor" / "sensitivity.json").write_text(json.dumps(_sensitivity([(40.0, 80.0), (30.0, 45.0)])))
    section = xor_section(tmp_path, tmp_path / "figures")
    assert "**How much the ticket effect depends on the open choices**" in section.markdown
    keys = [v.claim.key for v in section.verdicts]
    assert "xor_tickets_beat_random_across_settings" in keys
    kinds = [v.claim.kind for v in section.verdicts]
    assert kinds == sorted(kinds, key=["statement", "cell", "fitted"].index)
    assert (tmp_path / "figures" / "xor_calibration.png").exists()
