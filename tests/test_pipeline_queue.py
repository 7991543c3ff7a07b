"""A queued sweep through DVC on the end-to-end project (tests/e2e_project.py: the smoke pipeline after its first
`dvc repro`), and the experiment restored on another machine."""
import re
import subprocess
import sys
import time

from e2e_project import dvc as _dvc
from e2e_project import repro as _repro
from e2e_project import run as _run


def test_a_queued_sweep_and_an_experiment_restored_on_another_machine(reproduced_smoke, tmp_path):
    """A sweep through DVC's queue: ``dvc exp run --queue -S ...`` twice, ``dvc queue start -j 2``, then ``dvc exp
    show`` narrowed to what changed (the swept param and the headline numbers it moved). Then what travels and
    how (docs/distributed.md): results are git-tracked, so an experiment trained on one machine travels as a git
    ref (``dvc exp push``); datasets are DVC-cached and travel through a DVC remote. A clone on another machine
    with no dataset mirror pulls both, and ``dvc repro`` trains nothing. (DVC's run-cache cannot carry
    git-tracked outputs: ``dvc push --run-cache`` sends the run records but not the files.)"""
    project, env, _ = reproduced_smoke
    origin, remote = tmp_path / "origin.git", tmp_path / "dvc-remote"
    _run(["git", "init", "-q", "--bare", str(origin)], tmp_path, env)
    _dvc(project, env, "remote", "add", "-d", "shared", str(remote))
    _run(["git", "add", "-A"], project, env)
    _run(["git", "commit", "-q", "-m", "smoke results"], project, env)
    _run(["git", "push", "-q", str(origin), "HEAD:main"], project, env)
    for seed in (1, 2):
        _dvc(project, env, "exp", "run", "--queue", "-S", f"mnist.seed={seed}", "-n", f"mnist-seed{seed}")
    # The workers outlive `dvc queue start` and inherit its output: into a file, not a pipe that this call would
    # wait on until they exit (a worker whose shutdown message arrived while it ran a task never exits: dvc-task).
    with open(tmp_path / "queue.log", "w") as log:
        subprocess.run([sys.executable, "-m", "dvc", "queue", "start", "-j", "2"], cwd=project, env=env, stdout=log,
                       stderr=subprocess.STDOUT, check=True)
    try:
        status = _wait_for_queue(project, env, names={"mnist-seed1", "mnist-seed2"}, seconds=600)
    finally:
        subprocess.run([sys.executable, "-m", "dvc", "queue", "stop"], cwd=project, env=env, capture_output=True)
    assert status.count("Success") == 2, status
    table = _dvc(project, env, "exp", "show", "--csv", "--only-changed", "--drop",
                 "Created|State|Executor|rev|typ|parent")
    header, *rows = [line.split(",") for line in table.strip().splitlines()]
    assert header[0] == "Experiment" and "mnist.seed" in header
    assert any(column.startswith("mnist.") and column != "mnist.seed" for column in header)   # a headline number
    assert {row[0] for row in rows} >= {"mnist-seed1", "mnist-seed2"}

    _dvc(project, env, "exp", "push", str(origin), "mnist-seed1")
    _dvc(project, env, "push")
    clone = tmp_path / "clone"
    _run(["git", "clone", "-q", "-b", "main", str(origin), str(clone)], tmp_path, env)
    elsewhere = {**env, "LTH_DATA_MIRROR": str(tmp_path / "no-mirror-here")}
    _dvc(clone, elsewhere, "exp", "pull", str(origin), "mnist-seed1")
    _dvc(clone, elsewhere, "exp", "apply", "mnist-seed1")
    _dvc(clone, elsewhere, "pull")
    assert _repro(clone, elsewhere)[0] == set()                       # nothing trains: all came with the pulls
    ref = next(r for r in _run(["git", "for-each-ref", "--format=%(refname)", "refs/exps/"], project, env).split()
               if r.endswith("/mnist-seed1"))
    assert (clone / "results" / "mnist" / "lenet.json").read_text() == _run(
        ["git", "show", f"{ref}:results/mnist/lenet.json"], project, env)
    assert (clone / "data" / "mnist.pt").read_bytes() == (project / "data" / "mnist.pt").read_bytes()


def _wait_for_queue(project, env, names: set[str], seconds: float) -> str:
    """``dvc queue status`` once no experiment is queued or running. Until the experiments' git refs exist it
    looks only at them (a git call costs nothing; a ``dvc queue status`` ~1.5 s of a core, taken from the
    experiments) and asks DVC only every 20 s, so that a failed experiment ends the wait early."""
    deadline, asked, status = time.monotonic() + seconds, time.monotonic(), "(DVC not asked yet)"
    while True:
        refs = _run(["git", "for-each-ref", "--format=%(refname)", "refs/exps/"], project, env).split()
        done = names <= {ref.rsplit("/", 1)[-1] for ref in refs}
        if done or time.monotonic() - asked > 20:
            asked = time.monotonic()
            status = _dvc(project, env, "queue", "status")
            if not re.search(r"\b(Queued|Running)\b", status):
                return status
        assert time.monotonic() < deadline, status
        time.sleep(1 if not done else 2)
