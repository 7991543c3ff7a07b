"""Populations sharded over torch.distributed ranks (lth.ranks), launched by torchrun with gloo on this
CPU: the weights are byte-identical on 1, 2 and 3 ranks (and without torchrun), with each member's own batch
order and with one shared order, and a run killed on 3 ranks resumes on 2 from every rank's snapshots."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from lth.ranks import merge_group_snapshots

ROOT = Path(__file__).resolve().parents[1]
JOB = ROOT / "tests" / "ranks_job.py"
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="torchrun's gloo ranks (Linux)")
# One thread per rank as torchrun sets it for several ranks; the run without torchrun gets the same.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "LTH_DEVICE": "cpu", "PYTHONPATH": str(ROOT)}


def _torchrun(ranks: int, out: Path, checkpoint: Path, *extra: str, **popen) -> subprocess.Popen:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}",
               str(JOB), str(out), str(checkpoint), *extra]
    return subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def _finish(process: subprocess.Popen) -> str:
    stdout, stderr = process.communicate(timeout=240)
    assert process.returncode == 0, stderr[-3000:]
    return stdout


def _plain(out: Path, checkpoint: Path, *extra: str) -> bytes:
    """The job in one process without a launcher (one rank)."""
    done = subprocess.run([sys.executable, str(JOB), str(out), str(checkpoint), *extra], env=ENV, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return out.read_bytes()


def test_same_bytes_on_one_and_three_ranks(tmp_path):
    """Each member's own batch order, then one shared order, in one launch each. One rank is the run without a
    launcher (torchrun with one process takes the same path: WORLD_SIZE 1). Two ranks are checked by the resume
    test below (a 3-rank run resumed on 2 gives the one-rank bytes) and by the torchrun smoke stage."""
    reference = _plain(tmp_path / "plain.pt", tmp_path / "p.ckpt", "300", "own", "shared")
    out = tmp_path / "ranks3.pt"
    _finish(_torchrun(3, out, tmp_path / "r3.ckpt", "300", "own", "shared"))
    ranks3 = out.read_bytes()
    half = len(reference) // 2                   # the two orders' weights, one after the other
    assert reference[:half] != reference[half:]  # the orders train differently
    assert ranks3[:half] == reference[:half], "each member's own order"
    assert ranks3[half:] == reference[half:], "one shared order"


def test_killed_on_three_ranks_resumes_on_two(tmp_path):
    reference = _plain(tmp_path / "reference.pt", tmp_path / "ref.ckpt", "1500")
    checkpoint, out = tmp_path / "study.ckpt", tmp_path / "resumed.pt"
    first = _torchrun(3, out, checkpoint, "1500", start_new_session=True)
    deadline = time.monotonic() + 200
    while not all(p.exists() for p in (checkpoint, tmp_path / "study.rank1.ckpt", tmp_path / "study.rank2.ckpt")):
        assert first.poll() is None and time.monotonic() < deadline, "no snapshots from every rank"
        time.sleep(0.1)
    time.sleep(0.3)
    os.killpg(first.pid, signal.SIGKILL)
    first.communicate()
    assert not out.exists()
    stdout = _finish(_torchrun(2, out, checkpoint, "1500"))
    resumed = int(stdout.split("resumed groups:")[1].split()[0])
    assert resumed >= 3          # saved states of groups that different ranks trained
    assert out.read_bytes() == reference


def test_merge_keeps_each_groups_most_advanced_state():
    def loop(iteration):
        return {"snapshot": {"iteration": iteration}}
    ranges = [[0, 2], [2, 4], [4, 5]]
    rank0 = {"ranges": ranges, "groups": [{"result": "r0"}, loop(30), None]}
    rank1 = {"ranges": ranges, "groups": [loop(50), loop(40), loop(10)]}
    other = {"ranges": [[0, 5]], "groups": [{"result": "elsewhere"}]}
    merged = merge_group_snapshots([rank0, rank1, other])
    assert merged == {"ranges": ranges, "groups": [{"result": "r0"}, loop(40), loop(10)]}


def test_torchrun_runs_a_smoke_stage_with_the_same_results(tmp_path):
    """``torchrun --nproc_per_node=2 -m lth run mnist`` at the smoke profile writes the results one process
    writes (rank 0 alone writes them; the checkpoint is gone at the end)."""
    import yaml

    from fakedata import write_prepared_mnist
    from lth.config import read_params
    raw = {**read_params(ROOT / "params.yaml"), "profile": "smoke"}
    outputs = {}
    for name, launcher in (("plain", []), ("ranks", ["-m", "torch.distributed.run", "--standalone",
                                                     "--nproc_per_node=2"])):
        folder = tmp_path / name
        write_prepared_mnist(folder / "data" / "mnist.pt", train=300, validation=60, test=60)
        (folder / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
        command = [sys.executable, *launcher, "-m", "lth", "run", "mnist"]
        done = subprocess.run(command, cwd=folder, env=ENV, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        outputs[name] = (folder / "results" / "mnist" / "lenet.json").read_text()
        assert not list((folder / "checkpoints" / "mnist").glob("lenet.pt"))
        assert sorted(p.name for p in (folder / "results" / "mnist").iterdir()) == ["lenet.json", "timing.json"]
    assert outputs["ranks"] == outputs["plain"]


def test_ranks_that_resume_from_different_points_stop_with_a_clear_message(tmp_path, monkeypatch):
    """Two machines without a shared checkpoints/ folder: rank 0 finds a finished step, rank 1 nothing. Going on
    would have the ranks train different populations and wait for each other forever."""
    import lth.shared.driver as driver_module
    from lth.errors import EnvironmentSettingError
    from lth.shared.driver import StudyDriver
    monkeypatch.setattr(driver_module, "gather", lambda value: [(["round 0"], None), value])
    driver = StudyDriver(tmp_path / "study.pt", "fingerprint", "lottery", torch.device("cpu"), progress=False)
    with pytest.raises(EnvironmentSettingError, match="rank 1: 0.*shares"):
        driver.start(lambda: {})
    monkeypatch.setattr(driver_module, "gather", lambda value: [value, value])
    assert driver.start(lambda: {})["done"] == []
