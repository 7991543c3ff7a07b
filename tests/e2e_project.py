"""The end-to-end tests' project: a copy of this project's code, dvc.yaml and params (smoke profile, sized for fake
data in the real formats), made a git and DVC repository, and its first real `dvc repro`. Built once per test
session and shared by the end-to-end test files, each of which works on its own copy: under pytest-xdist the first
worker to ask builds it while the others wait on a lock (tests/conftest.py)."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from filelock import FileLock

from fakedata import make_mirror, write_checksum_patch

ROOT = Path(__file__).resolve().parents[1]


def run(cmd, cwd, env):
    """Run ``cmd`` in ``cwd``; its stdout, or a failed assertion with both outputs."""
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def repro(project, env):
    """``dvc repro`` in ``project``: the stages it ran and its output."""
    out = dvc(project, env, "repro")
    return set(re.findall(r"Running stage '([^']+)'", out)), out


def dvc(project, env, *args):
    """``dvc *args`` in ``project``: its stdout."""
    return run([sys.executable, "-m", "dvc", *args], project, env)


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
    run(["git", "init", "-q"], project, env)
    run([sys.executable, "-m", "dvc", "init", "-q"], project, env)
    run([sys.executable, "-m", "dvc", "config", "core.analytics", "false"], project, env)
    return project


def environment(root: Path) -> dict[str, str]:
    """The subprocesses' environment: the fake mirror, its checksums (through a sitecustomize on the path), the
    CPU, and a git identity."""
    return {**os.environ, "LTH_DATA_MIRROR": str(root / "mirror"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(root / "test_checksums"), os.environ.get("PYTHONPATH")])),
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
            "LTH_DEVICE": "cpu", "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.org",
            "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.org"}


def reproduced_copy(shared: Path, private: Path) -> tuple[Path, dict[str, str], set[str]]:
    """A private copy (in ``private``) of the project after its first `dvc repro`, the environment, and the stages
    that first repro ran. The first caller builds it in ``shared`` (fake mirror, project, repro); later callers,
    in this process or another, copy it."""
    env = environment(shared)
    with FileLock(str(shared / "e2e.lock")):
        if not (shared / "first_stages.json").exists():          # not built, or a build that failed: afresh
            for folder in ("project", "mirror", "test_checksums"):
                shutil.rmtree(shared / folder, ignore_errors=True)
            write_checksum_patch(shared / "test_checksums", make_mirror(shared / "mirror"))
            stages, _ = repro(copy_project(shared / "project", env), env)
            (shared / "first_stages.json").write_text(json.dumps(sorted(stages)))
    shutil.copytree(shared / "project", private / "project", symlinks=True)
    return private / "project", env, set(json.loads((shared / "first_stages.json").read_text()))
