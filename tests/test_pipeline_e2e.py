"""End to end: the real `dvc repro` on the smoke profile in a temporary copy of the project."""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from fakedata import make_mirror, write_checksum_patch

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd, cwd, env):
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _repro(project, env):
    out = _run([sys.executable, "-m", "dvc", "repro"], project, env)
    return set(re.findall(r"Running stage '([^']+)'", out)), out


def copy_project(project: Path, env: dict[str, str]) -> Path:
    """A fresh copy of the project's code, dvc.yaml and params (smoke profile, sized for the fake data) in
    ``project``, made a git and DVC repository: what a clone on another machine starts from."""
    project.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "lth", project / "lth", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", "params.yaml", ".gitignore", ".dvcignore"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, project / name)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["profile"] = "smoke"
    params["data"]["profiles"]["smoke"]["validation_size"] = 10   # the fake data sets have 60 training images
    for name, section in params.items():            # minibatches must fit in those 50
        if isinstance(section, dict) and "batch_size" in section:
            section["profiles"]["smoke"] = {**section["profiles"]["smoke"], "batch_size": 10}
    params["double_descent"]["profiles"]["smoke"].update(train_examples=0, validation_examples=0, curve_examples=0)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _run(["git", "init", "-q"], project, env)
    _run([sys.executable, "-m", "dvc", "init", "-q"], project, env)
    _run([sys.executable, "-m", "dvc", "config", "core.analytics", "false"], project, env)
    return project


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    # The fake data's checksums reach lth.datasets only through a sitecustomize on the subprocesses' path.
    checksums = write_checksum_patch(root / "test_checksums", make_mirror(root / "mirror"))
    env = {**os.environ, "LTH_DATA_MIRROR": str(root / "mirror"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(checksums), os.environ.get("PYTHONPATH")])),
           "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
           "LTH_DEVICE": "cpu", "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.org",
           "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.org"}
    return copy_project(root / "project", env), env


def test_repro_then_param_change_reruns_only_affected_stages(project):
    project, env = project
    stages, _ = _repro(project, env)
    cifar = {f"cifar_conv@{net}-{variant}" for net in ("conv2", "conv4", "conv6") for variant in ("plain", "dropout")}
    cifar |= {f"cifar_deep@{net}-{variant}" for net in ("vgg19", "resnet20")
              for variant in ("high_lr", "low_lr", "warmup")}
    assert stages == {"data@mnist", "data@fashion_mnist", "data@cifar10", "xor", "xor_calibration", "xor_sensitivity",
                      "mnist", "mnist_v1", "anatomy", "deconstruct", "importance", "early_bird", "mask_distance",
                      "rewinding@vgg19", "rewinding@resnet20", "double_descent@dense", "double_descent@tickets",
                      "transformer_tickets", "report", *cifar,
                      *(f"sweep@{kind}" for kind in ("init_scale", "pruning_rate", "network_size"))}
    report = (project / "reports" / "report.md").read_text()
    assert "## XOR" in report and "## MNIST" in report and "Profile `smoke`" in report and "test data" in report
    assert "## CIFAR-10" in report and (project / "reports" / "figures" / "cifar_vgg19.png").exists()
    cifar = json.loads((project / "reports" / "metrics.json").read_text())["cifar"]
    ledger = json.loads((project / "reports" / "claims.json").read_text())["cifar"]["claims"]
    statements = [c for c in ledger.values() if c["kind"] != "direction"]   # directions are counted apart
    assert cifar["holds"] + cifar["fails"] + cifar["not_testable"] == len(statements) > 0
    assert len(ledger) - len(statements) == 15                              # five directions per conv net
    assert (project / "reports" / "figures" / "mnist_controls.png").exists()
    assert "## MNIST in the first version's setup" in report and "## Anatomy of winning tickets" in report
    assert (project / "artifacts" / "mnist_v1" / "tickets.pt").exists()
    assert "## The first version's parameter sweeps" in report
    assert "## Deconstructing lottery tickets" in report and "## Layerwise importance" in report
    assert "## Early-bird tickets" in report and "## When unstructured masks settle" in report
    assert "## Late rewinding and linear mode connectivity" in report and "`rewinding/resnet20`" in report
    assert "## Double descent and lottery tickets" in report and "### Where the tickets fall" in report
    assert "## Lottery tickets in a small transformer" in report
    for figure in ("mnist_v1_one_shot", "anatomy_initialisations", "anatomy_connectivity", "sweep_init_scale",
                   "sweep_pruning_rate", "sweep_network_size_iterative", "deconstruct_criteria", "deconstruct_mask1",
                   "deconstruct_mask0", "deconstruct_supermask", "importance_metrics", "importance_overlap",
                   "early_bird_distances", "mask_distance", "rewinding", "deconstruct_conv2_criteria",
                   "importance_conv2_overlap", "double_descent_curve", "double_descent_sparsity",
                   "double_descent_losses", "transformer_tickets"):
        assert (project / "reports" / "figures" / f"{figure}.png").exists()
    claims = json.loads((project / "reports" / "claims.json").read_text())
    assert claims["xor"]["claims"]["xor_random_2_units_db"]["paper"] == 49.1
    assert claims["mnist"]["claims"]["mnist_ticket_gain_at_50k"]["verdict"] == "not testable at this profile"
    words = " ".join(report.split())                  # the report's prose is wrapped at 120 characters
    assert "testable statements hold at profile `smoke`" in words
    assert (project / "reports" / "figures" / "xor_calibration.png").exists()
    assert (project / "reports" / "figures" / "xor_success_rates.png").stat().st_size > 10_000
    first = (project / "results" / "xor" / "results.json").read_text()

    assert _repro(project, env)[0] == set()                         # nothing changed: nothing runs

    params_path = project / "params.yaml"
    original = params_path.read_text()
    params = yaml.safe_load(original)
    params["xor"]["lr"] = 0.02                                       # a training stage's param
    params["anatomy"]["bins"] = 30                                   # reads the kept tickets, trains nothing
    params["mask_distance"]["threshold"] = 0.2                       # one study's param: that study only
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    assert _repro(project, env)[0] == {"xor", "anatomy", "mask_distance", "report"}
    assert (project / "results" / "xor" / "results.json").read_text() != first

    params_path.write_text(original)                                 # revert: all three come from the run-cache
    stages, out = _repro(project, env)
    assert stages == {"report"} and "Stage 'xor' is cached" in out and "Stage 'mask_distance' is cached" in out
    assert (project / "results" / "xor" / "results.json").read_text() == first

    shown = json.loads(_run([sys.executable, "-m", "dvc", "metrics", "show", "--json"], project, env))
    files = {path for revision in shown.values() for path in revision["data"]}
    assert files == {"reports/metrics.json"}                         # only the headline numbers are metrics
    numbers = [v for revision in shown.values() for data in revision["data"].values()
               for section in data["data"].values() for v in section.values()]
    assert 0 < len(numbers) <= 40 and all(isinstance(v, (int, float)) for v in numbers)
    ledger = json.loads(_run([sys.executable, "-m", "dvc", "metrics", "show", "--json", "reports/claims.json"],
                             project, env))                        # the full ledger: shown and diffed on request
    assert "xor_random_2_units_db" in json.dumps(ledger) and '"verdict"' in json.dumps(ledger)


def _dvc(project, env, *args):
    return _run([sys.executable, "-m", "dvc", *args], project, env)


def test_a_queued_sweep_and_an_experiment_restored_on_another_machine(project, tmp_path):
    """A sweep through DVC's queue: ``dvc exp run --queue -S ...`` twice, ``dvc queue start -j 2``, then ``dvc exp
    show`` narrowed to what changed (the swept param and the headline numbers it moved). Then what travels and
    how (docs/distributed.md): results are git-tracked, so an experiment trained on one machine travels as a git
    ref (``dvc exp push``); datasets are DVC-cached and travel through a DVC remote. A clone on another machine
    with no dataset mirror pulls both, and ``dvc repro`` trains nothing. (DVC's run-cache cannot carry
    git-tracked outputs: ``dvc push --run-cache`` sends the run records but not the files.)"""
    project, env = project
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
        deadline = time.monotonic() + 600
        while re.search(r"\b(Queued|Running)\b", status := _dvc(project, env, "queue", "status")):
            assert time.monotonic() < deadline, status
            time.sleep(2)
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
