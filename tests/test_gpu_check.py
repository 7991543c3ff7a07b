"""bench/gpu_check.py, the first-run check for a GPU machine, run here on the CPU at toy sizes: every section
runs and writes its record, its comparisons catch a planted difference, and a round that would not fit the
budget is projected, not trained."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from lth.core.engine import TrainJob, TrainSettings
from lth.core.masks import dense_masks
from lth.core.models import PopulationMLP
from lth.data import Split

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "gpu_check.py"


def _module():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module          # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_tiny_check_writes_every_section(tmp_path):
    """On a CPU the 'device' is the CPU again, so the agreement section compares the same code with itself:
    bit-identical (a difference would mean a training is not reproducible). The engine bench is left out here
    (tests/test_bench.py runs it)."""
    out = tmp_path / "check.json"
    run = subprocess.run([sys.executable, str(SCRIPT), "--tiny", "--skip", "engine", "--out", str(out)],
                         capture_output=True, text=True, env={**os.environ, "LTH_DEVICE": "cpu"}, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    report = json.loads(out.read_text())
    assert list(report) == ["environment", "agreement", "stages", "mnist_round", "conv2_round"]
    assert report["environment"]["device"] == "cpu"
    for kind in ("lenet", "conv2"):
        checks = report["agreement"][kind]
        assert len(checks) == 3 and all(c["ok"] and c["difference"] == 0.0 for c in checks.values())
    assert all(s["ok"] and s["devices"] == ["cpu"] for name, s in report["stages"].items() if name != "section_s")
    for name in ("mnist_round", "conv2_round"):
        record = report[name]
        assert record["round_s"] > 0 and record["member_iterations_per_s"] > 0
        assert record["iterations"] == 20 and record["probe_iterations"] < 20


def test_comparison_fails_on_a_planted_difference():
    check = _module()
    a = {"w": torch.tensor([[1.0, -2.0]]), "b": torch.tensor([0.5])}
    b = {"w": torch.tensor([[1.0, -2.001]]), "b": torch.tensor([0.5])}
    assert abs(check.largest_difference(a, b) - 0.0005) < 1e-6      # 0.001 over the largest |a|, 2
    assert not check.within(check.largest_difference(a, b), 1e-4)["ok"]
    assert check.within(check.largest_difference(a, a), 1e-4) == {"difference": 0.0, "tolerance": 1e-4, "ok": True}


def test_round_that_does_not_fit_is_projected_not_trained():
    check = _module()
    model = PopulationMLP((4, 3, 2))
    params = model.init_params([0, 1])
    data = Split(torch.randn(40, 4), torch.randint(0, 2, (40,)))
    built = []

    def build(iterations: int) -> TrainJob:
        built.append(iterations)
        return TrainJob(model, params, dense_masks(params, model.layer_names),
                        TrainSettings(iterations=iterations, batch_size=10, eval_every=5), data, [0, 1],
                        evaluations={"validation": data, "test": data}, track_best="validation")

    record = check.timed_round(build, 1000, 10, check.Budget(0.0), torch.device("cpu"))
    assert built == [10] and "round_s" not in record
    assert record["round"].startswith("not trained") and record["projected_round_s"] > 0
    record = check.timed_round(build, 20, 10, check.Budget(600.0), torch.device("cpu"))
    assert built == [10, 10, 20] and record["member_iterations_per_s"] > 0 and record["iterations"] == 20
