import os
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


# With `--dist loadfile` (pyproject.toml) each test file runs whole on one worker, handed out in this order: the
# end-to-end file, whose first `dvc repro` (about 6 minutes on a 2-core host without AVX-512) is the longest path,
# to one worker at once, the next-longest file to the other. xdist gives each worker two files to begin with, so the
# third file waits behind the end-to-end one: a short one. The others follow in name order, to whichever worker is
# free; the queued sweep, on a copy of the end-to-end project, sorts where the second worker reaches it about when
# that first repro is done (it waits for it otherwise), with a minute or so of short files left for the first.
FIRST = ("test_pipeline_e2e.py", "test_ranks.py", "test_io.py")
SORTS_AFTER = {"test_pipeline_queue.py": "test_patience.py"}


def pytest_collection_modifyitems(items):
    """Order the collected tests: the files in FIRST, in that order, then the others by name (a file in
    SORTS_AFTER just after the file it names); each file's own order kept."""
    def rank(item):
        name = Path(str(item.fspath)).name
        if name in FIRST:
            return FIRST.index(name), ""
        return len(FIRST), SORTS_AFTER[name] + "+" if name in SORTS_AFTER else name
    items.sort(key=rank)


@pytest.fixture(scope="module")
def reproduced_smoke(tmp_path_factory):
    """This test file's own copy of the end-to-end project after its first real `dvc repro` at the smoke profile,
    the environment for its commands, and the stages that repro ran (tests/e2e_project.py). Built once per test
    session: in the folder all pytest-xdist workers share, under a lock, when the tests run in parallel."""
    from e2e_project import reproduced_copy
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    shared = shared / "e2e-shared"
    shared.mkdir(exist_ok=True)
    return reproduced_copy(shared, tmp_path_factory.mktemp("e2e"))


def pytest_configure(config):
    """In a parallel worker, torch computes on one thread, and so do the processes its tests start (the stages of
    the end-to-end `dvc repro`, the scripts): two workers then share the two cores instead of four or more threads
    contending for them, which slows every one of them several times over. A stage on one thread trains its
    populations in its own process (lth.core.processes.worker_count); tests of the split over processes ask for
    their process counts explicitly."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["OMP_NUM_THREADS"] = "1"
        import torch
        torch.set_num_threads(1)
