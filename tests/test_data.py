import json

import pytest
import torch

from lth.data import DataError, load_prepared, prepare, validation_split


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
    with pytest.raises(DataError, match="validation_size"):
        validation_split(100, 100, seed=0)


def test_load_prepared_normalises_and_flattens(fake_mirror, tmp_path):
    prepared = prepare("mnist", tmp_path / "root", validation_size=10, split_seed=0)
    torch.save(prepared, tmp_path / "mnist.pt")
    data = load_prepared(tmp_path / "mnist.pt", torch.device("cpu"), flatten=True)
    assert data.train.x.shape == (50, 784) and data.validation.x.shape == (10, 784)
    assert data.test.y.dtype == torch.long
    first = int(prepared["train_index"][0])
    expected = (prepared["train_images"][first].flatten().double() / 255 - 0.1307) / 0.3081
    assert torch.allclose(data.train.x[0].double(), expected, atol=1e-5)


def test_mirror_missing_file_names_what_is_expected(fake_mirror, tmp_path):
    (fake_mirror / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz"):
        prepare("mnist", tmp_path / "root", validation_size=10, split_seed=0)


def test_corrupted_archive_is_reported_with_expected_md5(fake_mirror, tmp_path, monkeypatch):
    md5s = json.loads((fake_mirror / "md5.json").read_text())
    md5s["mnist"]["train-images-idx3-ubyte.gz"] = "0" * 32
    (fake_mirror / "md5.json").write_text(json.dumps(md5s))
    with pytest.raises(DataError, match="corrupted.*expected 0{32}"):
        prepare("mnist", tmp_path / "root", validation_size=10, split_seed=0)


def test_corrupted_cifar_batch_is_reported(fake_mirror, tmp_path):
    md5s = json.loads((fake_mirror / "md5.json").read_text())
    md5s["cifar10"]["data_batch_3"] = "f" * 32
    (fake_mirror / "md5.json").write_text(json.dumps(md5s))
    with pytest.raises(DataError, match="data_batch_3"):
        prepare("cifar10", tmp_path / "root", validation_size=10, split_seed=0)


def test_real_checksums_reject_the_fake_files(tmp_path, monkeypatch):
    """Without the override, torchvision's md5s apply: tiny fake files are refused as corrupted."""
    from fakedata import make_mnist_like
    make_mnist_like(tmp_path / "mirror", "MNIST")
    monkeypatch.setenv("LTH_DATA_MIRROR", str(tmp_path / "mirror"))
    monkeypatch.delenv("LTH_DATA_MD5", raising=False)
    with pytest.raises(DataError, match="corrupted"):
        prepare("mnist", tmp_path / "root", validation_size=10, split_seed=0)
