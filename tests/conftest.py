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
