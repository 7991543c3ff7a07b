import json
import subprocess
import sys
from pathlib import Path

import pytest

from lth.report.assemble import build_report
from lth.report.mnist import _sustained_crossing

ROOT = Path(__file__).resolve().parents[1]


def test_sustained_crossing_ignores_single_dips():
    pm = [100, 80, 50, 20, 10, 5, 2]
    accuracy = [98.0, 97.9, 98.2, 98.3, 98.1, 97.5, 97.0]      # dip at 80%, then drops for good at 5%
    assert _sustained_crossing(pm, accuracy, 98.0) == 5
    assert _sustained_crossing(pm, [99] * 7, 98.0) is None


def test_report_skips_missing_experiments_and_says_so(tmp_path):
    (tmp_path / "results").mkdir()
    metrics = build_report(tmp_path / "results", tmp_path / "reports", "abc")
    text = (tmp_path / "reports" / "report.md").read_text()
    assert metrics == {} and "## XOR" not in text and "Not reproduced yet" in text and "`abc`" in text
    assert "xor: no results" in text and "mnist: no results" in text
    json.dumps(metrics)


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
