"""Every file a stage reads (prepared datasets, results JSON, the tickets file, checkpoints, params.yaml): a
missing, empty, truncated, unparsable, wrong-type or wrong-shape one is one line naming the file and what to
do (DataError / ConfigError), and through ``lth run`` exit status 2 before any work, results untouched. Also
the range checks of the list params that index levels. Every file here is generated (no real dataset)."""
import copy
import json
import os
import subprocess
from pathlib import Path

import pytest
import torch
import yaml

from lth.config import ConfigError, read_params, resolve_section
from lth.data import load_prepared
from lth.errors import DataError
from lth.experiments.deconstruct import DeconstructConfig
from lth.experiments.mask_distance import MaskDistanceConfig
from lth.io import read_checkpoint, read_json_file, save_torch_atomic
from lth.report.common import read_json
from lth.shared.lottery import last_level
from lth.shared.ticket_file import pack_masks, read_tickets

from fakedata import prepared_mnist
from lth_cli import lth_process, lth_run

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = yaml.safe_load((ROOT / "params.yaml").read_text())
CPU = torch.device("cpu")


# ------------------------------------------------------------------------------------------- the files
def tickets(rounds: int = 3, trials: int = 2) -> dict:
    """A tickets file's content as ``write_tickets`` writes it: two layers' inits and packed masks."""
    generator = torch.Generator().manual_seed(1)
    out = {}
    for name, shape in (("fc0.weight", (4, 3)), ("fc1.weight", (2, 4))):
        out[f"init/{name}"] = torch.randn(trials, *shape, generator=generator)
        masks = [torch.rand(trials, *shape, generator=generator) > 0.5 for _ in range(rounds)]
        out[f"masks/{name}"] = torch.stack([pack_masks({name: m}, [name])[name] for m in masks])
    return out


def damage(path: Path, how: str, good: object = None) -> Path:
    """Write ``path`` damaged ``how``: missing, empty, truncated (half of ``good``'s bytes), flipped (one
    byte in the middle of ``good``'s inverted), garbage bytes, or ``good`` itself (wrong-type / wrong-shape
    content)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    if how == "empty":
        path.write_bytes(b"")
    elif how == "garbage":
        path.write_bytes(b"\x00\xffnot a file this project writes\x80" * 3)
    elif how in ("truncated", "flipped", "content"):
        if path.suffix == ".json":
            path.write_text(json.dumps(good, indent=1))
        else:
            save_torch_atomic(path, good)
        data = bytearray(path.read_bytes())
        if how == "truncated":
            path.write_bytes(bytes(data[:len(data) // 2]))
        elif how == "flipped":
            data[len(data) // 2] ^= 0xFF
            path.write_bytes(bytes(data))
    return path


# ---------------------------------------------------------------------------------- prepared datasets
DATA_FIX = "run `dvc repro data@mnist`, which writes it"


def _bad_shape(**changes) -> dict:
    saved = prepared_mnist()
    saved.update(changes)
    return saved


@pytest.mark.parametrize("how,content,message", [
    ("missing", None, "missing"),
    ("empty", None, "empty (0 bytes: an interrupted write or copy?)"),
    ("truncated", prepared_mnist(), "not a complete torch file (truncated or damaged: "),
    ("garbage", None, "not a complete torch file (truncated or damaged:"),
    ("flipped", prepared_mnist(), "not a complete torch file (truncated or damaged: record "),
    ("content", [1, 2], "holds a list, not the mapping of tensors a prepared dataset is"),
    ("content", {"train_images": torch.zeros(3)}, "train_images is a float32 tensor of shape [3], not 4-dimensional "
                                                  "int"),
    ("content", {"train_images": torch.zeros(1, 1, 1, 1, dtype=torch.uint8)}, "train_labels is missing"),
    ("content", _bad_shape(train_images=torch.zeros(80, 28, 28, dtype=torch.uint8)),
     "train_images is a uint8 tensor of shape [80, 28, 28], not 4-dimensional int"),
    ("content", _bad_shape(test_labels=torch.zeros(5, dtype=torch.uint8)),
     "test_images of shape [20, 1, 28, 28] do not fit 5 labels and mnist's 1 channel(s)"),
    ("content", _bad_shape(train_index=torch.arange(75, 85)), "train_index points outside the 80 training images"),
    ("content", _bad_shape(info={"dataset": "svhn"}), "info.dataset = 'svhn' is not one of mnist, fashion_mnist, "
                                                      "cifar10"),
    ("content", _bad_shape(train_labels=[1, 2]), "train_labels is a list, not a tensor"),
    ("content", {"x": os.getcwd}, "holds objects other than tensors and plain containers (not a file this project "
                                  "writes)"),
])
def test_a_damaged_prepared_dataset_is_one_line(tmp_path, how, content, message):
    path = damage(tmp_path / "data" / "mnist.pt", how, content)
    with pytest.raises(DataError) as error:
        load_prepared(path, CPU, flatten=True)
    assert str(error.value).startswith(f"{path}: {message}") and str(error.value).endswith(f"; {DATA_FIX}")
    assert "\n" not in str(error.value)


def test_a_good_prepared_dataset_still_loads(tmp_path):
    data = load_prepared(damage(tmp_path / "mnist.pt", "content", prepared_mnist()), CPU, flatten=True)
    assert len(data.train) == 70 and len(data.validation) == 10 and data.test.x.shape == (20, 784)


# ------------------------------------------------------------------------------------------ results JSON
def _project_with_lock(tmp_path: Path) -> Path:
    """A project folder whose dvc.lock says the mnist_v1 stage writes results/mnist_v1/lenet.json."""
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": {
        "mnist_v1": {"cmd": "x", "outs": [{"path": "artifacts/mnist_v1/tickets.pt"},
                                          {"path": "results/mnist_v1/lenet.json"}]},
        "deconstruct": {"cmd": "y", "outs": [{"path": "results/deconstruct"}]}}}))
    return tmp_path


@pytest.mark.parametrize("how,content,message", [
    ("missing", None, "missing"),
    ("empty", None, "empty (0 bytes: an interrupted write or copy?)"),
    ("truncated", {"profile": "quick", "rounds": [{"round": 0}, {"round": 1}]},
     "not valid JSON (Expecting property name enclosed in double quotes at line 5 column 3: truncated or "
     "damaged?)"),
    ("garbage", None, "not text (binary or damaged bytes)"),
    ("content", [1, 2], "holds a JSON list, not the mapping of results a stage writes"),
    ("content", {"rounds": []}, "has no 'profile'"),
])
def test_a_damaged_results_file_is_one_line_naming_its_stage(tmp_path, how, content, message):
    project = _project_with_lock(tmp_path)
    path = damage(project / "results" / "mnist_v1" / "lenet.json", how, content)
    with pytest.raises(DataError) as error:
        read_json(path, require=("profile",))
    assert str(error.value) == f"{path}: {message}; run `dvc repro mnist_v1`, which writes it"


def test_a_results_file_in_an_output_folder_names_that_stage_and_an_unknown_one_says_how(tmp_path):
    project = _project_with_lock(tmp_path)
    with pytest.raises(DataError, match=r"deconstruct/conv2.json: missing; run `dvc repro deconstruct`"):
        read_json(project / "results" / "deconstruct" / "conv2.json")
    with pytest.raises(DataError, match=r"other.json: missing; re-run the stage that writes it \(`dvc repro` re-runs"):
        read_json_file(project / "results" / "other.json")


# ------------------------------------------------------------------------------------------- tickets file
def _ticket_shape(**changes) -> dict:
    saved = tickets()
    saved.update(changes)
    return saved


@pytest.mark.parametrize("how,content,message", [
    ("missing", None, "missing"),
    ("truncated", tickets(), "not a complete torch file (truncated or damaged:"),
    ("flipped", tickets(rounds=40), "not a complete torch file (truncated or damaged: record "),
    ("garbage", None, "not a complete torch file (truncated or damaged:"),
    ("content", torch.zeros(3), "holds a Tensor, not the mapping of tensors a tickets file is"),
    ("content", {"masks/fc0.weight": torch.zeros(3, 2, 2, dtype=torch.uint8)}, "holds no init/<layer> weights"),
    ("content", _ticket_shape(**{"masks/fc1.weight": tickets()["masks/fc1.weight"][:, :, :0]}),
     "masks/fc1.weight has shape [3, 2, 0], not [3, 2, 1] (rounds, trials, packed bytes of init/fc1.weight "
     "[2, 2, 4])"),
    ("content", _ticket_shape(**{"masks/fc0.weight": torch.zeros(3, 2, 2)}),
     "masks/fc0.weight is a float32 tensor of shape [3, 2, 2], not 3-dimensional bits"),
])
def test_a_damaged_tickets_file_is_one_line(tmp_path, how, content, message):
    path = damage(tmp_path / "artifacts" / "mnist_v1" / "tickets.pt", how, content)
    with pytest.raises(DataError) as error:
        read_tickets(path)
    assert str(error.value).startswith(f"{path}: {message}")
    assert str(error.value).endswith("; run `dvc repro mnist_v1`, which writes it")


# -------------------------------------------------------------------------------------------- checkpoints
@pytest.mark.parametrize("how,content,message", [
    ("truncated", {"fingerprint": "f", "rounds": [torch.zeros(100)]}, "not a complete torch file (truncated or "
                                                                       "damaged:"),
    ("empty", None, "empty (0 bytes: an interrupted write or copy?)"),
    ("content", [1], "holds a list, not a checkpoint's mapping"),
])
def test_a_damaged_checkpoint_stops_with_one_line_and_is_kept(tmp_path, how, content, message):
    """Not a silent restart that would throw the run's progress away: the line says it may be deleted."""
    path = damage(tmp_path / "checkpoints" / "mnist" / "lenet.pt", how, content)
    before = path.read_bytes()
    with pytest.raises(DataError) as error:
        read_checkpoint(path, "mnist lenet")
    assert str(error.value).startswith(f"{path}: {message}") and str(error.value).endswith(
        "; it holds the progress of mnist lenet: restore a good copy, or delete it to restart mnist lenet from its "
        "beginning")
    assert path.read_bytes() == before


def test_a_lottery_with_a_damaged_checkpoint_stops_before_training(tmp_path):
    from lottery_run import TINY, tiny_data
    from lth.shared.lenet import MnistLottery
    path = damage(tmp_path / "ck.pt", "garbage")
    lottery = MnistLottery(TINY, tiny_data(), CPU, path, progress=False)
    with pytest.raises(DataError, match=r"ck.pt: not a complete torch file .*delete it to restart mnist lenet"):
        lottery.run()


# -------------------------------------------------------------------------------------------- params file
@pytest.mark.parametrize("how,text,message", [
    ("missing", None, "not found; run from the project root (where params.yaml is)"),
    ("empty", None, "empty (no sections); fix it or restore it (`git checkout -- {path}`)"),
    ("truncated", "profile: quick\nxor:\n  lr: [0.1, 0.2\n", "not valid YAML (expected ',' or ']', but got "
                                                           "'<stream end>' at line 4 column 1); fix it or restore it "
                                                           "(`git checkout -- {path}`)"),
    ("unparsable", "profile: quick\n  xor: 1\n", "not valid YAML (mapping values are not allowed here at line 2 "
                                                 "column 6); fix it or restore it (`git checkout -- {path}`)"),
    ("garbage", None, "not text (binary or damaged bytes); fix it or restore it (`git checkout -- {path}`)"),
    ("wrong type", "- profile\n- quick\n", "must be a mapping of sections (profile, data, ...), not ['profile', "
                                           "'quick']"),
    ("folder", None, "cannot be read (Is a directory); fix it or restore it (`git checkout -- {path}`)"),
])
def test_a_damaged_params_file_is_one_line_naming_the_file_read(tmp_path, how, text, message):
    path = tmp_path / "my-params.yaml"
    if how == "folder":
        path.mkdir()
    elif how in ("empty", "garbage"):
        damage(path, how)
    elif text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError) as error:
        read_params(path)
    assert str(error.value) == f"{path}: " + message.format(path=path)


# ---------------------------------------------------------------------------- range checks of list params
def _resolve(section: str, schema: type, key: str, value: list[int]):
    raw = copy.deepcopy(COMMITTED)
    raw["profile"] = "paper"
    raw[section][key] = value
    return resolve_section(raw, section, schema)


def test_last_level_is_where_pruning_stops_changing_the_masks():
    assert last_level({"a": 10}, {"a": 0.5}) == 3          # 10 -> 5 -> 3 -> 1, then round(0.5) = 0 prunes none
    assert last_level({"a": 4}, {"a": 0.1}) == 0           # round(0.4) = 0: the first level prunes nothing
    assert last_level({"a": 10, "b": 4}, {"a": 0.8, "b": 0.1}) == 1    # a: 10 -> 2 -> 0 (empty) at level 2


@pytest.mark.parametrize("section,schema,key,value,message", [
    ("deconstruct", DeconstructConfig, "levels", [2, 60], "params.yaml: deconstruct.levels = [2, 60]: level 60 is "
     "beyond the last level that still prunes lenet at this section's rates (51)"),
    ("deconstruct", DeconstructConfig, "supermask_levels", [1, 90], "params.yaml: deconstruct.supermask_levels = "
     "[1, 90]: level 90 is beyond the last level that still prunes lenet at this section's rates (51)"),
    ("mask_distance", MaskDistanceConfig, "levels", [3, 52], "params.yaml: mask_distance.levels = [3, 52]: level 52 "
     "is beyond the last level that still prunes lenet at its rates (51)"),
])
def test_levels_beyond_the_pruning_schedule_are_refused(section, schema, key, value, message):
    with pytest.raises(ConfigError) as error:
        _resolve(section, schema, key, value)
    assert str(error.value) == message
    _resolve(section, schema, key, value[:1])               # the schedule's own levels stay allowed


# ------------------------------------------------------------------------------------- through `lth run`
def _lth(project: Path, *args: str) -> subprocess.CompletedProcess:
    """The stage in this process (tests/lth_cli.py); the truncated-dataset test runs one as a process."""
    return lth_run(project, *args)


def _project(tmp_path: Path, params: dict | None = None) -> tuple[Path, Path]:
    """A project folder with params.yaml and a previous results file that a refused stage must keep."""
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params or COMMITTED, sort_keys=False))
    kept = tmp_path / "results" / "kept.json"
    kept.parent.mkdir(parents=True)
    kept.write_text('{"kept": true}\n')
    return tmp_path, kept


def _refused(run: subprocess.CompletedProcess, kept: Path, start: str, end: str) -> None:
    line = run.stderr.strip()
    assert run.returncode == 2, run.stderr
    assert "\n" not in line and line.startswith(start) and line.endswith(end), line
    assert kept.read_text() == '{"kept": true}\n'


def test_lth_run_refuses_a_truncated_dataset(tmp_path):
    project, kept = _project(tmp_path)
    damage(project / "data" / "mnist.pt", "truncated", prepared_mnist())
    _refused(lth_process(project, "mnist"), kept, "mnist: error: data/mnist.pt: not a complete torch file", DATA_FIX)
    assert not (project / "checkpoints").exists()


def test_lth_run_refuses_a_damaged_checkpoint_and_keeps_it(tmp_path):
    project, kept = _project(tmp_path)
    damage(project / "data" / "mnist.pt", "content", prepared_mnist())
    checkpoint = damage(project / "checkpoints" / "mnist" / "lenet.pt", "truncated", {"rounds": [torch.zeros(99)]})
    before = checkpoint.read_bytes()
    _refused(_lth(project, "mnist"), kept, "mnist: error: checkpoints/mnist/lenet.pt: not a complete torch file",
             "delete it to restart mnist lenet from its beginning")
    assert checkpoint.read_bytes() == before and not (project / "results" / "mnist").exists()


@pytest.mark.parametrize("damaged,start", [
    ("results", "anatomy: error: results/mnist_v1/lenet.json: not valid JSON"),
    ("shape", "anatomy: error: results/mnist_v1/lenet.json: has no rounds[].ticket.pm"),
    ("tickets", "anatomy: error: artifacts/mnist_v1/tickets.pt: not a complete torch file"),
])
def test_lth_run_anatomy_refuses_a_damaged_mnist_v1_output(tmp_path, damaged, start):
    project, kept = _project(tmp_path)
    damage(project / "artifacts" / "mnist_v1" / "tickets.pt", "truncated" if damaged == "tickets" else "content",
           tickets())
    v1_run = {"profile": "quick", "rounds": [{"round": 0, "ticket": {"pm": [1.0, 1.0]}}]}
    damage(project / "results" / "mnist_v1" / "lenet.json", "truncated" if damaged == "results" else "content",
           {"profile": "quick", "rounds": [{"round": 0}]} if damaged == "shape" else v1_run)
    _refused(_lth(project, "anatomy"), kept, start, "; run `dvc repro mnist_v1`, which writes it")


def test_lth_run_mask_distance_refuses_a_wrong_shape_tickets_file(tmp_path):
    project, kept = _project(tmp_path)
    damage(project / "artifacts" / "mnist_v1" / "tickets.pt", "content", {"init/fc0.weight": torch.zeros(2, 3)})
    _refused(_lth(project, "mask_distance"), kept, "mask_distance: error: artifacts/mnist_v1/tickets.pt: "
             "init/fc0.weight is a float32 tensor of shape [2, 3], not 3-dimensional float",
             "; run `dvc repro mnist_v1`, which writes it")


def test_lth_run_report_refuses_a_truncated_results_file(tmp_path):
    project, kept = _project(tmp_path)
    damage(project / "results" / "mnist" / "lenet.json", "truncated", {"profile": "quick", "rounds": [1, 2, 3]})
    run = _lth(project, "report")
    _refused(run, kept, "report: error: results/mnist/lenet.json: not valid JSON", "`dvc repro` re-runs what is "
             "out of date)")
    assert not [path for path in project.glob("reports/**/*") if path.is_file()]


def test_lth_run_refuses_an_unparsable_params_file(tmp_path):
    project, kept = _project(tmp_path)
    (project / "params.yaml").write_text((ROOT / "params.yaml").read_text()[:200] + "\n  [broken: \n")
    _refused(_lth(project, "xor"), kept, "xor: error: params.yaml: not valid YAML (", "; fix it or restore it "
             "(`git checkout -- params.yaml`)")


def test_lth_run_refuses_levels_beyond_the_schedule(tmp_path):
    params = copy.deepcopy(COMMITTED)
    params["mask_distance"]["levels"] = [3, 400]
    project, kept = _project(tmp_path, params)
    _refused(_lth(project, "mask_distance"), kept, "mask_distance: error: params.yaml: mask_distance.levels = [3, "
             "400]: level 400 is beyond the last level that still prunes lenet at its rates (51)", "(51)")


def test_a_damaged_finished_size_of_the_size_sweep_stops_with_one_line(tmp_path):
    """The network-size sweep keeps each finished size as JSON beside its checkpoint: damaged, it is one line."""
    from lottery_run import tiny_data
    from lth.experiments.sweeps import NetworkSizeConfig, run_size_sweep
    config = NetworkSizeConfig(first_widths=[6], one_shot_rounds=[1], iterations=20, eval_every=10, trials=1,
                               batch_size=16, min_remaining=0.5)
    done = damage(tmp_path / "6-2.json", "truncated", {"fingerprint": "f", "result": {"rounds": [1, 2, 3]}})
    with pytest.raises(DataError) as error:
        run_size_sweep(config, tiny_data(), CPU, tmp_path, progress=False)
    assert str(error.value).startswith(f"{done}: not valid JSON (") and str(error.value).endswith(
        "; it holds size 6-2's finished result: restore a good copy, or delete it to train that size again")


@pytest.mark.parametrize("how,message", [
    ("missing", "missing"),
    ("empty", "empty (0 bytes: an interrupted write or copy?)"),
    ("truncated", "not a complete torch file (truncated or damaged: File is not a zip file)"),
    ("garbage", "not a complete torch file (truncated or damaged: File is not a zip file)"),
    ("flipped", "not a complete torch file (truncated or damaged: record "),
])
def test_a_damaged_dataset_is_found_without_loading_it(tmp_path, how, message):
    """``verify_prepared``: what a stage reading several datasets in turn checks before its first training."""
    from lth.data import verify_prepared
    path = damage(tmp_path / "data" / "mnist.pt", how, prepared_mnist())
    with pytest.raises(DataError) as error:
        verify_prepared(path)
    assert str(error.value).startswith(f"{path}: {message}") and str(error.value).endswith(f"; {DATA_FIX}")
    verify_prepared(damage(path, "content", prepared_mnist()))    # a good file passes
