import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def fake_mirror(tmp_path, monkeypatch):
    """A tiny offline mirror of all datasets, with the env vars that point the data code at it."""
    from fakedata import make_mirror
    mirror = tmp_path / "mirror"
    override = make_mirror(mirror)
    monkeypatch.setenv("LTH_DATA_MIRROR", str(mirror))
    monkeypatch.setenv("LTH_DATA_MD5", str(override))
    return mirror
