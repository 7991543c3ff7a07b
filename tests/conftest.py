import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def fake_mirror(tmp_path, monkeypatch):
    """A tiny offline mirror of all datasets, its checksums patched into lth.datasets for this test, and
    the environment variable that points the data code at it."""
    import json

    import lth.datasets
    from fakedata import make_mirror
    mirror = tmp_path / "mirror"
    override = make_mirror(mirror)
    monkeypatch.setattr(lth.datasets, "_TEST_MD5", json.loads(override.read_text()))
    monkeypatch.setenv("LTH_DATA_MIRROR", str(mirror))
    return mirror


# The slowest test file first: with `--dist loadfile` (pyproject.toml) each file runs whole on one worker, in this
# order, so the end-to-end `dvc repro` file (about 40% of the suite's work) starts at once beside the rest.
SLOW_FIRST = ("test_pipeline_e2e.py",)


def pytest_collection_modifyitems(items):
    """Order the collected tests so that the files in SLOW_FIRST come first (each file's own order kept)."""
    def rank(item):
        name = Path(str(item.fspath)).name
        return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(SLOW_FIRST)
    items.sort(key=rank)


def pytest_configure(config):
    """In a parallel worker, torch computes on one thread, and so do the processes its tests start (the stages of
    the end-to-end `dvc repro`, the scripts): two workers then share the two cores instead of four or more threads
    contending for them, which slows every one of them several times over. A stage on one thread trains its
    populations in its own process (lth.core.processes.worker_count); tests of the split over processes ask for
    their process counts explicitly."""
    import os
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["OMP_NUM_THREADS"] = "1"
        import torch
        torch.set_num_threads(1)
