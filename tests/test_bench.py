"""The benchmarks run: each bench script at a toy size in a subprocess, as a user starts it, so that a change
to the library it measures (a moved module, a new engine rule) cannot break it silently. Rates are not
checked: speed targets belong to bench/README.md, never to a test."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lth.config import read_params, resolve_section
from lth.experiments.cifar import CIFAR_NETS, CifarConfig

from fakedata import write_prepared_mnist

ROOT = Path(__file__).resolve().parents[1]


def _bench(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bench" / args[0]), *args[1:]], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, "LTH_DEVICE": "cpu"}, timeout=300)


def test_tiny_profile_trains_with_patience():
    """The --tiny run measures the smoke pipeline, where CIFAR sections stop early (patience > 0) as quick's
    do: the case that made the default run crash (the engine refuses patience without a tracked split)."""
    raw = {**read_params(ROOT / "params.yaml"), "profile": "smoke"}
    configs = [next(iter(resolve_section(raw, net, CifarConfig, variants=True).config.values())) for net in CIFAR_NETS]
    assert any(config.patience > 0 for config in configs)


@pytest.fixture(scope="module")
def engine_tiny_report() -> dict:
    """``bench/engine.py --tiny --json``, run once for the tests below."""
    run = _bench("engine.py", "--tiny", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


def test_engine_bench_tiny_json(engine_tiny_report):
    report = engine_tiny_report
    assert {"device", "sgemm_gflops", "plain_loop_model_steps_per_s", "population", "best", "floors",
            "bfloat16_autocast", "conv", "pipeline_conv"} <= set(report)
    assert {(r["members"], r["shared_order"]) for r in report["population"]} >= {(1, False), (1, True), (2, True)}
    assert [r["net"] for r in report["pipeline_conv"]] == list(CIFAR_NETS)
    assert {r["net"] for r in report["conv"]} == {"conv2", "resnet20"}
    rows = report["population"] + report["floors"] + report["conv"] + report["pipeline_conv"]
    assert all(r["model_steps_per_s"] > 0 for r in rows)


def test_engine_bench_table(engine_tiny_report, capsys):
    """Without --json the measurements print as a table (``print_report``, what ``main`` prints then): here the
    JSON run's measurements, every row of them read by the printing."""
    from bench.engine import print_report
    print_report(engine_tiny_report)
    table = capsys.readouterr().out
    assert "plain per-model loop" in table and "ceiling" in table
    assert all(f"{net:>8} as the smoke pipeline trains it" in table for net in CIFAR_NETS)


def test_patience_effect_bench_tiny(tmp_path: Path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**params, "profile": "smoke"}, sort_keys=False))
    write_prepared_mnist(tmp_path / "mnist.pt", train=120, validation=30, test=30)
    out = tmp_path / "effect.json"
    run = _bench("patience_effect.py", "--params", str(tmp_path / "params.yaml"), "--data", str(tmp_path / "mnist.pt"),
                 "--levels", "1", "--trials", "1", "--iterations", "60", "--patience", "20", "40", "--json", str(out),
                 cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    effect = json.loads(out.read_text())
    assert [t["patience"] for t in effect["table"]] == [20, 40]
    assert all(t["trainings"] == 3 for t in effect["table"])
    assert {r["role"] for r in effect["rows"]} == {"ticket", "reinit", "random_mask"}
    assert "patience  changed" in run.stdout


def test_transformer_bench_tiny_json():
    run = _bench("transformer.py", "--tiny", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    assert report["members"] == 2 and report["profile"] == "smoke"
    assert report["population_model_steps_per_s"] > 0 and report["plain_model_steps_per_s"] > 0


def test_sparse_lenet_bench_tiny_json():
    run = _bench("sparse_lenet.py", "--tiny", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    assert report["members"] == 2 and [row["round"] for row in report["rows"]] == [0, 5, 7, 10, 13, 17]
    assert all(row["dense_model_steps_per_s"] > 0 and row["sparse_model_steps_per_s"] > 0 for row in report["rows"])


def test_eval_chunk_bench_tiny_json():
    """The evaluation bench times every asked chunk size of every net; a chunk size whose pass is one chunk
    of all the images gives the same accuracy as smaller chunks (the same logits, summed otherwise)."""
    run = _bench("eval_chunk.py", "--nets", "conv2", "conv4", "--images", "40", "--repeat", "1", "--chunks", "40",
                 "10", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    assert set(report["nets"]) == {"conv2", "conv4"}
    for rows in report["nets"].values():
        assert [row["chunk"] for row in rows] == [40, 10]
        assert all(row["best_ms"] > 0 and row["same_accuracy"] for row in rows)


def test_eval_chunk_bench_compares_torchs_kernels_bit_for_bit():
    """With --torch-kernels every row is timed again with torch's pooling kernel and out-of-place ReLU, and the
    evaluation's results are the same bits either way."""
    run = _bench("eval_chunk.py", "--nets", "conv2", "--images", "30", "--repeat", "1", "--chunks", "30",
                 "--torch-kernels", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    (row,) = json.loads(run.stdout)["nets"]["conv2"]
    assert row["torch_kernels"]["best_ms"] > 0 and row["torch_kernels"]["same_bits"]


def test_xor_step_bench_tiny_json():
    """The XOR step bench trains both paths of every asked setup; their weights are the same bits."""
    run = _bench("xor_step.py", "--members", "40", "--iterations", "15", "--widths", "3", "--setups", "tanh-adam",
                 "sigmoid-adam", "--repeat", "1", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    assert [(row["setup"], row["width"]) for row in report["rows"]] == [("tanh-adam", 3), ("sigmoid-adam", 3)]
    assert all(row["same_weights"] and row["torch_s"] > 0 and row["members_last_s"] > 0 for row in report["rows"])
