"""Atomic, tidy writes: a failed write leaves neither a temporary file nor a partial target; files get 0644."""
import json
import os
import stat

import pytest
import torch

from lth.io import load_torch, save_torch_atomic, write_bytes_atomic, write_json_atomic


def test_json_and_torch_files_are_written_whole_with_the_usual_mode(tmp_path):
    old_umask = os.umask(0o077)            # even under a strict umask, results are readable by others
    try:
        write_json_atomic(tmp_path / "a" / "r.json", {"x": [1, float("nan")]})
        save_torch_atomic(tmp_path / "c.pt", {"w": torch.arange(3)})
    finally:
        os.umask(old_umask)
    for path in (tmp_path / "a" / "r.json", tmp_path / "c.pt"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert json.loads((tmp_path / "a" / "r.json").read_text().replace("NaN", "null")) == {"x": [1, None]}
    assert torch.equal(load_torch(tmp_path / "c.pt")["w"], torch.arange(3))
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "c.pt", "r.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("old")

    def half_then_fail(handle):
        handle.write(b"partial")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_bytes_atomic(target, half_then_fail)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["r.json"]


class Payload:
    """An arbitrary object: what a checkpoint must never need to unpickle."""


def test_loads_refuse_pickled_objects(tmp_path):
    torch.save({"object": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(Exception, match="weights_only|Unsupported global"):
        load_torch(tmp_path / "evil.pt")
