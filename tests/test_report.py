import json
import subprocess
import sys
from pathlib import Path

import pytest

from lth.report.assemble import build_report
from lth.report.mnist import _sustained_crossing, mnist_claims

ROOT = Path(__file__).resolve().parents[1]


def test_sustained_crossing_ignores_single_dips():
    pm = [100, 80, 50, 20, 10, 5, 2]
    accuracy = [98.0, 97.9, 98.2, 98.3, 98.1, 97.5, 97.0]      # dip at 80%, then drops for good at 5%
    assert _sustained_crossing(pm, accuracy, 98.0) == 5
    assert _sustained_crossing(pm, [99] * 7, 98.0) is None


def _level(pm, it, acc):
    return {"pm": [pm / 100] * 2, "early_stop_iteration": [it] * 2, "early_stop_accuracy": [acc] * 2,
            "final_accuracy": [acc] * 2, "diverged": [False, False]}


def test_mnist_claims_from_synthetic_levels():
    rounds = [{"round": 0, "ticket": _level(100, 1000, 0.980)}]
    for r, (pm, it, acc, reinit_acc) in enumerate([(50, 800, 0.982, 0.981), (25, 400, 0.984, 0.975),
                                                    (10, 700, 0.983, 0.970), (2, 1200, 0.970, 0.950)], 1):
        rounds.append({"round": r, "ticket": _level(pm, it, acc), "reinit": _level(pm, 1000, reinit_acc),
                       "rewire": _level(pm, 1000, reinit_acc)})
    result = {"rounds": rounds, "one_shot": [{"round": 1, **_level(50, 900, 0.981)}]}
    claims = mnist_claims(result)
    assert claims["ticket_accuracy_drops_pm"] == 2.0
    assert claims["reinit_accuracy_drops_pm"] == 25.0
    assert claims["ticket_returns_to_dense_speed_pm"] == 2.0
    assert claims["ticket_vs_reinit_speed_25"] == 2.5
    assert claims["ticket_accuracy_gain_13"] == 0.3     # nearest level to 13.5% is 10%: 98.3 - 98.0


def test_report_skips_missing_experiments_and_says_so(tmp_path):
    (tmp_path / "results").mkdir()
    metrics = build_report(tmp_path / "results", tmp_path / "reports", "abc")
    text = (tmp_path / "reports" / "report.md").read_text()
    assert metrics == {} and "## XOR" not in text and "Not reproduced yet" in text and "`abc`" in text
    assert "xor: no results" in text and "mnist: no results" in text
    json.dumps(metrics)


def _cifar_run(net, variant, dense, ticket, reinit):
    rounds = [{"round": 0, "ticket": _level(100, 400, dense)},
              {"round": 1, "ticket": _level(20, 300, ticket), "reinit": _level(20, 400, reinit)}]
    return {"net": net, "variant": variant, "profile": "quick", "rounds": rounds}


def test_cifar_summary_and_deep_verdicts():
    from lth.report.cifar import deep_verdicts, summary
    s = summary(_cifar_run("conv2", "plain", 0.60, 0.63, 0.55))
    assert s["dense_accuracy"] == 60.0 and s["max_accuracy_gain_pp"] == 3.0 and s["max_speedup"] == 1.33
    assert s["ticket_minus_reinit_pp"] == 8.0 and s["sparsest_pm"] == 20.0
    runs = {("vgg19", "high_lr"): _cifar_run("vgg19", "high_lr", 0.90, 0.85, 0.86),
            ("vgg19", "low_lr"): _cifar_run("vgg19", "low_lr", 0.88, 0.89, 0.80),
            ("vgg19", "warmup"): _cifar_run("vgg19", "warmup", 0.91, 0.80, 0.85)}
    lines = deep_verdicts(runs)
    assert len(lines) == 3
    assert "high_lr" in lines[0] and "agrees" in lines[0] and "not" not in lines[0]
    assert "low_lr" in lines[1] and "not" not in lines[1]
    assert "warmup" in lines[2] and "does not agree" in lines[2]


def test_report_stage_imports_no_torch_and_no_experiment_code(tmp_path):
    """The report is rebuilt from results files only: running the stage (imports and build) must not pull in
    torch, the training engine or the experiments."""
    (tmp_path / "results").mkdir()
    script = ("import runpy, sys\n"
              f"sys.argv = ['report', '--results', {str(tmp_path / 'results')!r}, '--out', {str(tmp_path / 'out')!r}]\n"
              "runpy.run_path('stages/report.py', run_name='__main__')\n"
              "print(' '.join(sorted(sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    modules = done.stdout.split()
    assert "lth.report.assemble" in modules and (tmp_path / "out" / "report.md").exists()
    forbidden = [m for m in modules if m == "torch" or m.startswith(("torch.", "torchvision", "lth.core",
                                                                     "lth.experiments"))
                 or m in ("lth.config", "lth.data", "lth.datasets", "lth.device")]
    assert forbidden == []


def test_failed_figure_write_leaves_no_partial_or_temporary_file(tmp_path, monkeypatch):
    """A figure whose PNG writing fails leaves the folder as it was: no half-written PNG, no temporary file,
    and an earlier figure of the same name intact."""
    from lth.report import common

    figure = tmp_path / "figures" / "fig.png"
    fig, ax = common.plt.subplots()
    ax.plot([0, 1], [0, 1])
    common.save_figure(fig, figure)
    before = figure.read_bytes()

    def broken_savefig(self, handle, **kwargs):
        handle.write(b"\x89PNG partial")
        raise OSError("disk full")

    monkeypatch.setattr(common.plt.Figure, "savefig", broken_savefig)
    fig, ax = common.plt.subplots()
    with pytest.raises(OSError, match="disk full"):
        common.save_figure(fig, figure)
    assert sorted(p.name for p in figure.parent.iterdir()) == ["fig.png"]
    assert figure.read_bytes() == before
    assert fig.number not in common.plt.get_fignums()   # the failed figure was closed as well
    with pytest.raises(OSError):
        common.save_figure(common.plt.subplots()[0], tmp_path / "figures" / "new.png")
    assert sorted(p.name for p in figure.parent.iterdir()) == ["fig.png"]
