import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lth.report.assemble import write_report
from lth.report.lenet_levels import sustained_crossing

ROOT = Path(__file__).resolve().parents[1]


def test_sustained_crossing_ignores_single_dips():
    pm = [100, 80, 50, 20, 10, 5, 2]
    accuracy = [98.0, 97.9, 98.2, 98.3, 98.1, 97.5, 97.0]      # dip at 80%, then drops for good at 5%
    assert sustained_crossing(pm, accuracy, 98.0) == 5
    assert sustained_crossing(pm, [99] * 7, 98.0) is None


def test_report_skips_missing_experiments_and_says_so(tmp_path):
    (tmp_path / "results").mkdir()
    line = write_report(tmp_path / "results", tmp_path / "reports", "abc")
    text = (tmp_path / "reports" / "report.md").read_text()
    assert "## XOR" not in text and "Not reproduced yet" in text and "`abc`" in text
    assert "xor: no results" in text and "mnist: no results" in text
    assert json.loads((tmp_path / "reports" / "metrics.json").read_text()) == {
        "all": {"holds": 0, "fails": 0, "not_testable": 0}}
    assert json.loads((tmp_path / "reports" / "claims.json").read_text()) == {}
    assert line.startswith(f"wrote {tmp_path / 'reports'}/report.md; 0 statements")


def test_report_stage_imports_no_torch_and_no_experiment_code(tmp_path):
    """The report is rebuilt from results files only: running the stage (imports and build) must not pull in
    torch, the training engine or the experiments."""
    (tmp_path / "results").mkdir()
    script = ("import sys\nfrom lth.cli import main\n"
              "main(['run', 'report'])\n"
              "print(' '.join(sorted(sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    modules = done.stdout.split()
    assert "lth.report.assemble" in modules and (tmp_path / "reports" / "report.md").exists()
    forbidden = [m for m in modules if m == "torch" or m.startswith(("torch.", "torchvision", "lth.core",
                                                                     "lth.experiments", "lth.shared"))
                 or m in ("lth.data", "lth.datasets", "lth.device")]
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


def _figures(folder, count):
    """``count`` small figures saved into ``folder`` with ``save_figure`` (each with its own data)."""
    from lth.report import common
    for k in range(count):
        fig, ax = common.plt.subplots(figsize=(3 + k % 3, 2))
        ax.plot(range(10 + k), [(i * (k + 1)) % 7 for i in range(10 + k)], label=f"series {k}")
        ax.set_title(f"figure {k}")
        ax.legend()
        common.save_figure(fig, folder / f"fig{k}.png")


def test_figures_written_in_parallel_are_the_bytes_written_in_place(tmp_path):
    """Figures handed to forked writers (``figures_in_parallel``, two at a time) have the bytes of the same
    figures written where they are drawn, every one is on disk when the block ends, and no figure stays open."""
    from lth.report import common
    from lth.report.parallel_figures import figures_in_parallel
    _figures(tmp_path / "in_place", 5)
    with figures_in_parallel(2):
        _figures(tmp_path / "parallel", 5)
    for k in range(5):
        name = f"fig{k}.png"
        assert (tmp_path / "parallel" / name).read_bytes() == (tmp_path / "in_place" / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "parallel").iterdir()) == [f"fig{k}.png" for k in range(5)]
    assert common.plt.get_fignums() == []


def test_a_figure_failing_in_its_writer_is_an_error_naming_it(tmp_path, monkeypatch):
    """A writer that fails leaves no partial file, the others are written, and the block ends with an error
    naming the failed figure's file."""
    from lth.report import common
    from lth.report.parallel_figures import figures_in_parallel
    savefig = common.plt.Figure.savefig

    def fails_for_the_second(self, handle, **kwargs):
        if "fig1.png" in handle.name:
            handle.write(b"\x89PNG partial")
            raise OSError("disk full")
        return savefig(self, handle, **kwargs)

    monkeypatch.setattr(common.plt.Figure, "savefig", fails_for_the_second)
    with pytest.raises(RuntimeError, match=r"figure\(s\) not written: .*fig1\.png"):
        with figures_in_parallel(2):
            _figures(tmp_path, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig0.png", "fig2.png"]


def test_trainings_cut_short_by_their_cap_are_counted_and_marked(tmp_path):
    """Read from a results file with patience 1000 at a 6,000-iteration cap: a member stopped by its patience
    (best + 1000) is not cut short; one stopped by the cap 600 iterations after its best is, as is one whose
    best is its last evaluation; a diverged one is not (counted apart). Without a patience (hand-made dicts,
    older results) only a minimum at the last evaluation counts."""
    import json
    from lth.report.common import cut_short, level_cell, read_json
    members = {"early_stop_iteration": [3000, 5400, 6000, 200], "stopped_iteration": [4000, 6000, 6000, 400],
               "early_stop_accuracy": [0.98, 0.97, 0.975, 0.1], "diverged": [False, False, False, True]}
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"config": {"patience": 1000, "iterations": 6000},
                                "rounds": [{"round": 0, "ticket": members}]}))
    read = read_json(path)["rounds"][0]["ticket"]
    assert read["cut_short"] == [False, True, True, False] and cut_short(read) == 2
    assert level_cell(read).endswith(" *2")
    assert cut_short(members) == 1                                     # no patience known: last evaluation only
    assert cut_short({"early_stop_iteration": [10], "early_stop_accuracy": [0.5]}) == 0   # older results
    path.write_text(json.dumps({"config": {"patience": 0}, "runs": [{"early_stop_iteration": [900, 1000],
                                                                      "stopped_iteration": [1000, 1000]}]}))
    assert read_json(path)["runs"][0]["cut_short"] == [False, True]   # no patience: the last evaluation


def test_run_times_name_each_run_by_its_results_and_its_host(tmp_path):
    """Rows are named by the results' paths and rated from the results files beside the timing file, so an
    experiment the report has never seen (``newstudy``) gets its row and rate with no code change."""
    from lth.report.timing import timing_section
    host = {"cpu": "Some CPU", "cores": 2, "avx512": False, "avx512_bf16": False}
    files = {"xor/timing.json": {"random_init_s": 10.0, "pruning_s": 5.0},
             "xor/calibration_timing.json": {"total_s": 300.0, "device": "cpu", "host": host},
             "xor/sensitivity_timing.json": {"total_s": 100.0, "device": "cpu", "host": host},
             "cifar/resnet20_high_lr_timing.json": {"total_s": 60.0, "device": "cpu"},
             "cifar/conv2_plain_timing.json": {"total_s": 45.0, "device": "cpu"},
             "mnist/timing.json": {"total_s": 10.0, "device": "cpu", "host": host},
             # members' iterations: 100 + 200 (round 0), 50 + 50 + 30 (round 1), 20 (one-shot, flat record)
             "mnist/lenet.json": {"rounds": [{"ticket": {"stopped_iteration": [100, 200]}},
                                             {"ticket": {"stopped_iteration": [50, 50]},
                                              "reinit": {"stopped_iteration": [30]}, "curves": {"iterations": [5]}}],
                                  "one_shot": [{"round": 2, "stopped_iteration": [20]}]},
             "newstudy/timing.json": {"total_s": 4.0, "device": "cpu"},
             "newstudy/runs.json": {"a": {"stopped_iteration": [10, 30]}},
             "newstudy/other.json": {"stopped_iteration": [40]},
             "newstudy/timed_apart.json": {"stopped_iteration": [1000]},
             "newstudy/timed_apart_timing.json": {"total_s": 2.0, "device": "cpu"}}
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(json.dumps(content))
    text = timing_section(tmp_path).markdown
    assert "| `xor` | 15 | – | – | not recorded |" in text
    assert "| `xor/calibration` | 300 | – | cpu | Some CPU, 2 cores, no AVX-512 |" in text
    assert "| `xor/sensitivity` | 100 | – | cpu | Some CPU, 2 cores, no AVX-512 |" in text
    assert "| `mnist` | 10 | 450 (45/s) | cpu |" in text
    assert "| `cifar/resnet20_high_lr` | 60 | – | cpu |" in text and "| `cifar/conv2_plain` | 45 |" in text
    assert "| `newstudy` | 4 | 80 (20/s) | cpu |" in text               # runs.json + other.json, not timed_apart
    assert "| `newstudy/timed_apart` | 2 | 1,000 (500/s) | cpu |" in text
    assert "| all of them | 536 (8.9 min) |" in text
