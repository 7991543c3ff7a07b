import hashlib
import json
import lzma
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import lth.datasets as datasets
from fakedata import (CIFAR_BATCHES, cifar_filenames, cifar_records, make_cifar10, make_mirror,
                      make_mnist_like, write_checksum_patch, write_xz)
from lth.data import load_prepared
from lth.config import ConfigError
from lth.datasets import (DataError, build_cifar_python, cifar_python_batch, dataset_class, populate_from_mirror,
                          prepare, validation_split)
from lth.torchvision_compat import datasets as tv_datasets

ROOT = Path(__file__).resolve().parents[1]
REAL_CIFAR_MD5 = {f: md5 for f, md5 in tv_datasets.CIFAR10.train_list + tv_datasets.CIFAR10.test_list}


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.parametrize("name,shape,train", [("mnist", [1, 28, 28], 60), ("fashion_mnist", [1, 28, 28], 60),
                                               ("cifar10", [3, 32, 32], 60)])
def test_prepare_reads_real_formats_through_torchvision(fake_mirror, tmp_path, name, shape, train):
    prepared = prepare(name, tmp_path / "root", validation_size=10, split_seed=3)
    assert list(prepared["train_images"].shape) == [train] + shape
    assert prepared["train_images"].dtype == torch.uint8
    assert prepared["test_labels"].tolist() == [i % 10 for i in range(20)]
    assert prepared["info"]["validation"] == 10 and prepared["info"]["train"] == train - 10
    assert prepared["info"]["md5_overridden"] is True
    both = torch.cat([prepared["train_index"], prepared["validation_index"]]).sort().values
    assert both.tolist() == list(range(train))


def test_validation_split_is_fixed_by_seed():
    a = validation_split(100, 10, seed=5)
    b = validation_split(100, 10, seed=5)
    c = validation_split(100, 10, seed=6)
    assert torch.equal(a[1], b[1]) and not torch.equal(a[1], c[1])
    with pytest.raises(ConfigError, match="data.validation_size = 100: must be between 1 and 99"):
        validation_split(100, 100, seed=0)


def test_train_limit_takes_a_seeded_subset_of_the_training_images_only():
    train, validation = validation_split(100, 10, seed=5)
    small, same_validation = validation_split(100, 10, seed=5, train_limit=20)
    assert torch.equal(validation, same_validation) and len(small) == 20 and len(train) == 90
    assert set(small.tolist()) <= set(train.tolist()) and torch.equal(small, small.sort().values)
    assert small.tolist() != train[:20].tolist()            # a random subset, not the first images


def test_load_prepared_normalises_and_flattens(fake_mirror, tmp_path):
    prepared = prepare("mnist", tmp_path / "root", validation_size=10, split_seed=0)
    torch.save(prepared, tmp_path / "mnist.pt")
    data = load_prepared(tmp_path / "mnist.pt", torch.device("cpu"), flatten=True)
    assert data.train.x.shape == (50, 784) and data.validation.x.shape == (10, 784)
    assert data.test.y.dtype == torch.long
    first = int(prepared["train_index"][0])
    expected = (prepared["train_images"][first].flatten().double() / 255 - 0.1307) / 0.3081
    assert torch.allclose(data.train.x[0].double(), expected, atol=1e-5)


def test_cifar_images_load_channels_last_with_the_normalised_values(fake_mirror, tmp_path):
    """The conv nets' images are held channels-last (their layout), with the values of the channels-first
    normalisation; a gathered batch stays channels-last."""
    prepared = prepare("cifar10", tmp_path / "root", validation_size=10, split_seed=0)
    torch.save(prepared, tmp_path / "cifar10.pt")
    data = load_prepared(tmp_path / "cifar10.pt", torch.device("cpu"), flatten=False)
    mean = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
    std = torch.tensor([0.2470, 0.2435, 0.2616]).view(1, 3, 1, 1)
    expected = (prepared["test_images"].float() / 255.0 - mean) / std
    for x in (data.train.x, data.validation.x, data.test.x, data.train.x[torch.tensor([3, 1, 4])]):
        assert x.shape[1:] == (3, 32, 32) and x.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(data.test.x, expected, atol=1e-4)


def test_mirror_missing_file_names_what_is_expected(fake_mirror, tmp_path):
    (fake_mirror / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz"):
        prepare("mnist", tmp_path / "root", validation_size=10, split_seed=0)


def test_corrupted_archive_is_reported_with_expected_md5(fake_mirror, tmp_path, monkeypatch):
    monkeypatch.setitem(datasets._TEST_MD5["mnist"], "train-images-idx3-ubyte.gz", "0" * 32)
    with pytest.raises(DataError, match="corrupted.*expected 0{32}"):
        prepare("mnist", tmp_path / "root", validation_size=10, split_seed=0)


def test_cifar_rebuilt_from_binary_parts_loads_the_records_written(fake_mirror, tmp_path):
    """The rebuilt python-version files hold exactly the fake records: pixels (R, G, B planes), labels,
    file names, batch labels; torchvision reads them after its md5 check."""
    root = tmp_path / "root"
    populate_from_mirror("cifar10", root, fake_mirror)
    records = cifar_records()
    for train, batches in ((True, CIFAR_BATCHES[:5]), (False, CIFAR_BATCHES[5:])):
        loaded = dataset_class("cifar10")(str(root), train=train, download=False)
        items = [item for batch in batches for item in records[batch]]
        assert loaded.targets == [label for label, _ in items]
        assert loaded.data.shape == (len(items), 32, 32, 3)
        for index, (_, pixels) in enumerate(items):
            for y, x, channel in ((0, 0, 0), (0, 1, 0), (5, 7, 1), (31, 31, 2), (17, 3, 2)):
                assert loaded.data[index, y, x, channel] == pixels[channel * 1024 + y * 32 + x]
        expected = np.frombuffer(b"".join(p for _, p in items), np.uint8).reshape(-1, 3, 32, 32)
        assert np.array_equal(loaded.data, expected.transpose(0, 2, 3, 1))
        assert loaded.classes == [f"class{i}" for i in range(10)]
    with open(root / "cifar-10-batches-py" / "data_batch_2", "rb") as handle:
        batch = pickle.load(handle, encoding="latin1")
    assert batch["batch_label"] == "training batch 2 of 5"
    assert batch["filenames"] == cifar_filenames(records)["data_batch_2"]
    assert batch["data"].dtype == np.uint8 and batch["data"].shape == (12, 3072)
    assert _no_temp_files(root)


def test_python_batch_bytes_are_pinned():
    """The serialiser reproduces the six official batches' md5s on the real mirror (checked when it was
    written); this pins its bytes on a 1,200-record batch (long memo indices, two append groups)."""
    rng = np.random.default_rng(7)
    records = b"".join(bytes([i % 10]) + rng.integers(0, 256, 3072, dtype=np.uint8).tobytes() for i in range(1200))
    names = [f"image_{i}.png".encode() for i in range(1200)]
    payload = cifar_python_batch(records, names, "training batch 9 of 9")
    assert payload[:2] == b"\x80\x02" and payload.endswith(b"u.")
    content = pickle.loads(payload, encoding="latin1")
    assert content["labels"] == [i % 10 for i in range(1200)]
    assert content["filenames"] == [n.decode() for n in names]
    assert content["data"][5].tobytes() == records[5 * 3073 + 1:6 * 3073]
    assert hashlib.md5(payload).hexdigest() == PINNED_MD5


PINNED_MD5 = "a3d9a3bf7a5cbcd029fa5442f8b8d1fc"


def test_corrupted_cifar_part_is_one_line_with_file_and_expected_md5(fake_mirror, tmp_path):
    part = fake_mirror / "cifar10" / "data_batch_3.part2.bin.xz"
    raw = bytearray(lzma.decompress(part.read_bytes()))
    raw[100] ^= 1                                            # one pixel changed, still valid xz
    write_xz(part, bytes(raw))
    root = tmp_path / "root"
    expected = datasets._TEST_MD5["cifar10"]["data_batch_3"]
    with pytest.raises(DataError) as error:
        prepare("cifar10", root, validation_size=10, split_seed=0)
    message = str(error.value)
    assert "\n" not in message and "data_batch_3" in message and f"expected {expected}" in message
    assert not (root / "cifar-10-batches-py" / "data_batch_3").exists()    # nothing unverified written
    assert _no_temp_files(root)


def test_unreadable_cifar_part_names_the_part(fake_mirror, tmp_path):
    (fake_mirror / "cifar10" / "test_batch.part1.bin.xz").write_bytes(b"not xz at all")
    with pytest.raises(DataError, match=r"test_batch\.part1\.bin\.xz"):
        prepare("cifar10", tmp_path / "root", validation_size=10, split_seed=0)


def test_cifar_checksums_in_use_decide(fake_mirror, tmp_path, monkeypatch):
    monkeypatch.setitem(datasets._TEST_MD5["cifar10"], "data_batch_3", "f" * 32)
    with pytest.raises(DataError, match="data_batch_3.*expected f{32}"):
        prepare("cifar10", tmp_path / "root", validation_size=10, split_seed=0)


BUILDER = """import sys
from pathlib import Path
Path({marker!r}).write_text("ran")
(Path(sys.argv[1]) / "cifar-10-batches-py").mkdir(parents=True, exist_ok=True)
"""


def test_a_program_in_the_mirror_is_never_run(fake_mirror, tmp_path):
    marker = tmp_path / "marker"
    (fake_mirror / "cifar10" / "make_python_version.py").write_text(BUILDER.format(marker=str(marker)))
    prepared = prepare("cifar10", tmp_path / "root", validation_size=10, split_seed=0)
    assert prepared["info"]["train"] == 50 and not marker.exists()

    only_program = tmp_path / "mirror2"
    (only_program / "cifar10").mkdir(parents=True)
    (only_program / "cifar10" / "make_python_version.py").write_text(BUILDER.format(marker=str(marker)))
    with pytest.raises(DataError, match=r"neither cifar-10-batches-py/ nor the binary parts.*part1\.bin\.xz"):
        populate_from_mirror("cifar10", tmp_path / "root2", only_program)
    assert not marker.exists()


def test_ready_made_cifar_folder_is_copied(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    table = make_mirror(mirror, cifar_ready=True)
    monkeypatch.setenv("LTH_DATA_MIRROR", str(mirror))
    monkeypatch.setattr(datasets, "_TEST_MD5", json.loads(table.read_text()))
    assert not (mirror / "cifar10" / "data_batch_1.part1.bin.xz").exists()
    prepared = prepare("cifar10", tmp_path / "root", validation_size=10, split_seed=0)
    records = cifar_records()
    first = records["data_batch_1"][0][1]
    assert prepared["train_images"][0].flatten().tolist() == list(first)
    assert prepared["test_labels"].tolist() == [label for label, _ in records["test_batch"]]
    for name in CIFAR_BATCHES + ["batches.meta"]:
        assert (tmp_path / "root" / "cifar-10-batches-py" / name).read_bytes() == \
            (mirror / "cifar10" / "cifar-10-batches-py" / name).read_bytes()

    monkeypatch.setitem(datasets._TEST_MD5["cifar10"], "test_batch", "e" * 32)
    with pytest.raises(DataError, match=r"mirror file .*test_batch has md5 .*expected e{32}"):
        prepare("cifar10", tmp_path / "other_root", validation_size=10, split_seed=0)


def test_no_environment_variable_changes_the_checksums(tmp_path, monkeypatch):
    """The old LTH_DATA_MD5 override is gone: with a table naming the fake files' md5s in it, torchvision's
    real checksums still reject them."""
    mirror = tmp_path / "mirror"
    table = make_mirror(mirror)
    monkeypatch.setitem(os.environ, "LTH_DATA_MD5", str(table))
    monkeypatch.setenv("LTH_DATA_MIRROR", str(mirror))
    assert datasets._TEST_MD5 == {}
    with pytest.raises(DataError, match="corrupted"):
        prepare("mnist", tmp_path / "root", validation_size=10, split_seed=0)
    with pytest.raises(DataError, match=f"data_batch_1 .*expected {REAL_CIFAR_MD5['data_batch_1']}"):
        prepare("cifar10", tmp_path / "root", validation_size=10, split_seed=0)
    assert not (tmp_path / "root" / "cifar-10-batches-py" / "data_batch_1").exists()


def test_real_checksums_reject_the_fake_files(tmp_path, monkeypatch):
    """Without the test table, torchvision's md5s apply: tiny fake files are refused as corrupted."""
    make_mnist_like(tmp_path / "mirror", "MNIST")
    monkeypatch.setenv("LTH_DATA_MIRROR", str(tmp_path / "mirror"))
    with pytest.raises(DataError, match="corrupted"):
        prepare("mnist", tmp_path / "root", validation_size=10, split_seed=0)


def test_rebuild_checks_all_parts_are_there(tmp_path):
    make_cifar10(tmp_path / "mirror")
    (tmp_path / "mirror" / "cifar10" / "filenames_test.txt").unlink()
    with pytest.raises(DataError, match="missing: filenames_test.txt"):
        build_cifar_python(tmp_path / "mirror" / "cifar10", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _stage(cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lth", "run", "data", "cifar10"], cwd=cwd, env=env,
                          capture_output=True, text=True)


def test_stage_subprocess_takes_test_checksums_only_from_the_sitecustomize_patch(tmp_path):
    """How the end-to-end test's dvc repro gets the fake checksums; the environment alone cannot."""
    table = make_mirror(tmp_path / "mirror")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"]["validation_size"] = 10
    work = tmp_path / "work"
    work.mkdir()
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "LTH_DATA_MIRROR": str(tmp_path / "mirror"), "LTH_DATA_MD5": str(table)}
    env.pop("PYTHONPATH", None)
    refused = _stage(work, env)
    assert refused.returncode == 2 and "data_batch_1" in refused.stderr, refused.stderr
    assert not (work / "results" / "data" / "cifar10.json").exists()

    patch = write_checksum_patch(tmp_path / "patch", table)
    done = _stage(work, {**env, "PYTHONPATH": str(patch)})
    assert done.returncode == 0, done.stderr
    info = json.loads((work / "results" / "data" / "cifar10.json").read_text())
    assert info["md5_overridden"] is True and info["train"] == 50
    assert torch.load(work / "data" / "cifar10.pt", weights_only=True)["train_labels"].tolist() == \
        [label for batch in CIFAR_BATCHES[:5] for label, _ in cifar_records()[batch]]
