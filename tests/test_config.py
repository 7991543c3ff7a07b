"""params.yaml validation: the machinery (lth.config) with each experiment's schema, and the stages' one-line
errors for every kind of bad input (exit status 2, before any training, results untouched)."""
import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
import yaml

from lth.config import ConfigError, read_params, resolve_section
from lth.datasets import DataConfig
from lth.experiments.cifar import CIFAR_NETS, CifarConfig
from lth.experiments.anatomy import AnatomyConfig
from lth.shared.lenet import MnistConfig
from lth.shared.lenet_v1 import MnistV1Config
from lth.experiments.sweeps import InitScaleConfig, NetworkSizeConfig, PruningRateConfig
from lth.experiments.xor_calibration import XorCalibrationConfig
from lth.experiments.xor_sensitivity import XorSensitivityConfig
from lth.shared.xor_tables import XorConfig

from fakedata import write_prepared_mnist
from lth_cli import lth_process, lth_run

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = yaml.safe_load((ROOT / "params.yaml").read_text())
SCHEMAS = {"data": (DataConfig, False), "xor": (XorConfig, False), "mnist": (MnistConfig, False),
           "xor_calibration": (XorCalibrationConfig, False), "xor_sensitivity": (XorSensitivityConfig, False),
           "mnist_v1": (MnistV1Config, False),
           "anatomy": (AnatomyConfig, False), "sweep_init_scale": (InitScaleConfig, False),
           "sweep_pruning_rate": (PruningRateConfig, False), "sweep_network_size": (NetworkSizeConfig, False),
           **{net: (CifarConfig, True) for net in CIFAR_NETS}}


def _with(path: str, value):
    raw = copy.deepcopy(COMMITTED)
    *parents, last = path.split(".")
    node = raw
    for key in parents:
        node = node[key]
    node[last] = value
    return raw


def _resolve(raw, section):
    schema, variants = SCHEMAS.get(section, SCHEMAS["xor"])
    return resolve_section(raw, section, schema, variants).config


def test_committed_params_are_valid_for_every_stage_and_profile():
    for profile in ("smoke", "quick", "paper"):
        raw = _with("profile", profile)
        for section in SCHEMAS:
            _resolve(raw, section)
    assert read_params(ROOT / "params.yaml")["profile"] in ("smoke", "quick", "paper")
    smoke, paper = _resolve(_with("profile", "smoke"), "xor"), _resolve(_with("profile", "paper"), "xor")
    assert smoke.trials < paper.trials and paper.iterations == 1000


@pytest.mark.parametrize("path,value,message", [
    ("xor.iterations", -5, r"xor.iterations = -5: must be an integer >= 1"),
    ("xor.trials", 2.5, r"xor.trials = 2.5: must be an integer"),
    ("xor.lr", "fast", r"xor.lr = 'fast': must be a finite number > 0"),
    ("xor.lr", 0, r"xor.lr = 0: must be a finite number > 0"),
    ("xor.momentum", 1.0, r"xor.momentum = 1.0: must be a finite number >= 0 and < 1"),
    ("xor.optimizer", "rmsprop", r"xor.optimizer = 'rmsprop': must be one of adam, sgd"),
    ("xor.activation", True, r"xor.activation = True: must be one of relu"),
    ("xor.pruning.heuristics", ["product", "random"], r"xor.pruning.heuristics\[1\] = 'random': must be one of"),
    ("xor.pruning.targets", [], r"xor.pruning.targets = \[\]: must be a non-empty list"),
    ("xor.hidden_units", 10, r"xor.hidden_units = 10: must be a non-empty list"),
    ("xor.pruning", 3, r"xor.pruning = 3: must be a mapping"),
    ("xor.learning_rate", 0.1, r"xor.learning_rate: unknown key; allowed keys of xor: .*\blr\b.*hidden_units"),
    ("xor.profiles.smoke", {"trials": -1}, r"xor.profiles.smoke.trials = -1"),
    ("xor.profiles.fast", {}, r"xor.profiles.fast: unknown profile"),
    ("xor.loss", "hinge", r"xor.loss = 'hinge': must be one of bce, mse"),
    ("xor_calibration.losses", ["bce", "l1"], r"xor_calibration.losses\[1\] = 'l1': must be one of bce, mse"),
    ("xor_calibration.screen_trials", 2000, r"xor_calibration.screen_trials = 2000: must be below "
                                            r"xor_calibration.trials \(2000\), or 0 for no screen"),
    ("xor_calibration.finalists", 0, r"xor_calibration.finalists = 0: must be an integer >= 1"),
    ("xor_sensitivity.settings", 0, r"xor_sensitivity.settings = 0: must be an integer >= 1"),
    ("profile", "huge", r"profile = 'huge': must be one of smoke, quick, paper"),
    ("data.validation_size", 0, r"data.validation_size = 0: must be an integer >= 1"),
    ("mnist.output_rate", 1.0, r"mnist.output_rate = 1.0: must be a finite number >= 0 and < 1"),
    ("mnist.hidden_rate", -0.2, r"mnist.hidden_rate = -0.2: must be a finite number > 0 and < 1"),
    ("mnist.init", "he", r"mnist.init = .he.: must be one of glorot_normal, normal"),
    ("mnist.han_baseline", "yes", r"mnist.han_baseline = .yes.: must be true or false"),
    ("conv2.variants.dropout", {"dropout": 1.5}, r"conv2.variants.dropout.dropout = 1.5: must be a finite number >= 0"),
    ("vgg19.variants.warmup", {"warmpu": 5}, r"vgg19.variants.warmup.warmpu: unknown key"),
    ("resnet20.variants", None, r"resnet20.variants = None: must map variant names"),
    ("conv4.pruning", "random", r"conv4.pruning = 'random': must be one of layerwise, global"),
    ("resnet20.variants.high_lr", {"dropout": 0.5}, r"resnet20.variants.high_lr.dropout = 0.5: dropout is defined"),
])
def test_bad_values_name_key_value_and_what_is_allowed(path, value, message):
    with pytest.raises(ConfigError, match=message):
        _resolve(_with(path, value), path.split(".")[0])


# ------------------------------------------------------------------- every kind of bad input, per section
@pytest.mark.parametrize("path,value,message", [
    ("mnist.lr", float("nan"), r"mnist.lr = nan: must be a finite number > 0"),
    ("xor.init_std", float("inf"), r"xor.init_std = inf: must be a finite number > 0"),
    ("conv2.profiles.quick.fc_rate", float("-inf"), r"conv2.profiles.quick.fc_rate = -inf: must be a finite number"),
])
def test_non_finite_numbers_are_refused(path, value, message):
    with pytest.raises(ConfigError, match=message):
        _resolve(_with(path, value), path.split(".")[0])


@pytest.mark.parametrize("value, shown", [(None, "None"), ([1, 2], r"\[1, 2\]"), (3, "3")])
def test_a_section_must_be_a_mapping(value, shown):
    with pytest.raises(ConfigError, match=rf"params.yaml: mnist = {shown}: must be a mapping of settings"):
        _resolve(_with("mnist", value), "mnist")


def test_a_missing_section_is_named():
    raw = copy.deepcopy(COMMITTED)
    del raw["xor"]
    with pytest.raises(ConfigError, match=r"params.yaml: xor: missing; this stage reads that section"):
        _resolve(raw, "xor")


@pytest.mark.parametrize("value", [3, [1], "fast"])
def test_a_profiles_entry_must_be_a_mapping(value):
    with pytest.raises(ConfigError, match=r"params.yaml: mnist.profiles.quick = .*: must be a mapping of overrides"):
        _resolve(_with("mnist.profiles.quick", value), "mnist")


def test_the_calibration_needs_at_least_one_learning_rate():
    raw = _with("xor_calibration.sgd_lrs", [])
    assert _resolve(raw, "xor_calibration").adam_lrs                  # one list may be empty
    raw["xor_calibration"]["adam_lrs"] = []
    with pytest.raises(ConfigError, match=r"xor_calibration.sgd_lrs and xor_calibration.adam_lrs are both empty"):
        _resolve(raw, "xor_calibration")


def test_duplicate_yaml_keys_are_refused_with_their_line(tmp_path):
    (tmp_path / "params.yaml").write_text("profile: quick\nxor:\n  lr: 0.01\n  lr: 0.02\n")
    with pytest.raises(ConfigError, match=r"params.yaml: line 4: duplicate key 'lr'"):
        read_params(tmp_path / "params.yaml")


def test_params_read_through_libyaml_equal_pyyamls_own_reading_and_keep_its_checks(tmp_path):
    """The project's params.yaml reads as PyYAML's pure-Python safe loader reads it; the libyaml path (where
    PyYAML has it) refuses duplicate keys too, and a syntax error carries PyYAML's own wording."""
    from lth import config
    expected = yaml.load((ROOT / "params.yaml").read_text(), Loader=yaml.SafeLoader)
    assert read_params(ROOT / "params.yaml") == expected
    if hasattr(yaml, "CSafeLoader"):
        assert issubclass(config._FastStrictLoader, yaml.CSafeLoader)
        with pytest.raises(ConfigError, match=r"line 3: duplicate key 'a'"):
            yaml.load("x:\n  a: 1\n  a: 2\n", Loader=config._FastStrictLoader)
    (tmp_path / "params.yaml").write_text("profile: quick\n  xor: 1\n")
    with pytest.raises(ConfigError, match=r"mapping values are not allowed here at line 2 column 6"):
        read_params(tmp_path / "params.yaml")


def test_yaml_syntax_error_is_one_line(tmp_path):
    (tmp_path / "params.yaml").write_text("xor: [unclosed\n")
    with pytest.raises(ConfigError) as error:
        read_params(tmp_path / "params.yaml")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("path,value,message", [
    ("mnist.profiles.quick.eval_every", 30000,
     r"mnist.profiles.quick.eval_every = 30000: must be at most mnist.profiles.quick.iterations \(25000\)"),
    ("mnist.curve_rounds", [0, 40], r"mnist.curve_rounds = \[0, 40\]: round 40 is beyond the last pruning round \(19\)"),
    ("mnist.one_shot_rounds", [1, 20], r"mnist.one_shot_rounds = \[1, 20\]: round 20 is beyond the last"),
    ("conv2.curve_rounds", [0, 21], r"conv2.curve_rounds = \[0, 21\]: round 21 is beyond the last pruning round \(20\)"),
    ("vgg19.lr_milestones", [84375, 56250], r"vgg19.lr_milestones = \[84375, 56250\]: must be strictly increasing"),
    ("resnet20.variants.warmup", {"lr": 0.03, "warmup": 40000},
     r"resnet20.variants.warmup.warmup = 40000: must be at most resnet20.variants.warmup.iterations \(30000\)"),
    ("xor.pruning.targets", [10, 2], r"xor.pruning.targets = \[10, 2\]: every target must be below "
                                     r"xor.pruning.start_units \(10\)"),
    ("xor.pruning.targets", [5, 2], r"xor.pruning.targets = \[5, 2\]: iterative pruning from 10 units in steps of 2"),
    ("conv2.variants", {"plain": {}, "drop-out": {}}, r"conv2.variants.drop-out: a variant name must be a plain "
                                                     r"identifier"),
    ("mnist.patience", 50, r"mnist.patience = 50: must be 0 \(off\) or at least mnist.eval_every \(100\)"),
    ("conv4.patience", -1, r"conv4.patience = -1: must be an integer >= 0"),
    ("sweep_network_size.one_shot_rounds", [2, 40], r"sweep_network_size.one_shot_rounds contains 40: size "),
    ("sweep_network_size.first_widths", [300, 2], r"sweep_network_size.first_widths\[1\] = 2: must be an integer >= 3"),
    ("sweep_pruning_rate.hidden_rates", [0.2, 1.0], r"sweep_pruning_rate.hidden_rates\[1\] = 1.0: must be a finite "
                                                    r"number > 0 and < 1"),
    ("mnist_v1.extra_controls_every", 0, r"mnist_v1.extra_controls_every = 0: must be an integer >= 1"),
    ("conv2.train_examples", -1, r"conv2.train_examples = -1: must be an integer >= 0"),
])
def test_rules_between_keys_are_checked_for_every_profile_and_variant(path, value, message):
    with pytest.raises(ConfigError, match=message):
        _resolve(_with(path, value), path.split(".")[0])


# ------------------------------------------------------------------------------------ through the stages
def _project(tmp_path: Path, params: dict) -> Path:
    shutil.copytree(ROOT / "lth", tmp_path / "lth", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return tmp_path


def _stage(project: Path, script: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The stage in this process (tests/lth_cli.py); test_stage_refuses_duplicate_keys runs a real one."""
    return lth_run(project, script.removesuffix(".py"), *args, env=env)


def _assert_refused(run: subprocess.CompletedProcess, line: str, kept: Path) -> None:
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == line and "\n" not in run.stderr.strip()
    assert json.loads(kept.read_text()) == {"kept": True}
    assert not (kept.parent.parent.parent / "checkpoints").exists()     # nothing trained


def _previous_results(project: Path, relative: str) -> Path:
    previous = project / relative
    previous.parent.mkdir(parents=True)
    previous.write_text(json.dumps({"kept": True}))
    return previous


@pytest.mark.parametrize("path,value,stage,line", [
    ("xor.iterations", -1, ("xor.py",), "xor: error: params.yaml: xor.iterations = -1: must be an integer >= 1"),
    ("mnist.lr", float("nan"), ("mnist.py",), "mnist: error: params.yaml: mnist.lr = nan: must be a finite number > 0"),
    ("mnist", None, ("mnist.py",), "mnist: error: params.yaml: mnist = None: must be a mapping of settings"),
    ("xor.pruning.targets", [12], ("xor.py",), "xor: error: params.yaml: xor.pruning.targets = [12]: every target "
                                               "must be below xor.pruning.start_units (10); 12 is not"),
    ("conv2.variants", {"plain": {}, "2x": {}}, ("cifar.py", "conv2", "plain"),
     "cifar conv2 plain: error: params.yaml: conv2.variants.2x: a variant name must be a plain identifier "
     "(letters, digits, _; not starting with a digit)"),
    ("xor.init_std", float("inf"), ("xor.py",), "xor: error: params.yaml: xor.init_std = inf: must be a finite "
                                                "number > 0"),
    ("xor.profiles", {"quick": [1]}, ("xor.py",), "xor: error: params.yaml: xor.profiles.quick = [1]: must be a "
                                                  "mapping of overrides"),
    ("mnist.eval_every", 60000, ("mnist.py",), "mnist: error: params.yaml: mnist.eval_every = 60000: must be at "
                                               "most mnist.iterations (50000)"),
    ("mnist.patience", 30, ("mnist.py",), "mnist: error: params.yaml: mnist.patience = 30: must be 0 (off) or at "
                                          "least mnist.eval_every (100): a training is judged at its evaluations"),
    ("xor_calibration.activations", ["gelu"], ("xor_calibration.py",), "xor_calibration: error: params.yaml: "
     "xor_calibration.activations[0] = 'gelu': must be one of relu, tanh, sigmoid"),
    ("mnist.curve_rounds", [0, 25], ("mnist.py",), "mnist: error: params.yaml: mnist.curve_rounds = [0, 25]: "
                                                   "round 25 is beyond the last pruning round (19) of this schedule"),
    ("vgg19.lr_milestones", [84375, 56250], ("cifar.py", "vgg19", "high_lr"),
     "cifar vgg19 high_lr: error: params.yaml: vgg19.lr_milestones = [84375, 56250]: must be strictly increasing"),
    ("resnet20.variants.warmup", {"warmup": 40000}, ("cifar.py", "resnet20", "warmup"),
     "cifar resnet20 warmup: error: params.yaml: resnet20.variants.warmup.warmup = 40000: must be at most "
     "resnet20.variants.warmup.iterations (30000)"),
])
def test_stage_stops_before_work_and_keeps_existing_results(tmp_path, path, value, stage, line):
    """A bad param gives one line on stderr, exit code 2, and the previous results stay untouched."""
    project = _project(tmp_path, _with(path, value))
    kept = _previous_results(project, "results/kept/results.json")
    _assert_refused(_stage(project, *stage), line, kept)


def test_stage_refuses_duplicate_keys(tmp_path):
    project = _project(tmp_path, COMMITTED)
    (project / "params.yaml").write_text((ROOT / "params.yaml").read_text() + "\nxor:\n  lr: 0.5\n")
    kept = _previous_results(project, "results/kept/results.json")
    run = lth_process(project, "xor")                                 # a real process: its stderr is this line
    assert run.returncode == 2 and run.stderr.startswith("xor: error: params.yaml: line ")
    assert run.stderr.count("\n") == 1
    assert "duplicate key 'xor'" in run.stderr and json.loads(kept.read_text()) == {"kept": True}


def test_stage_refuses_a_batch_larger_than_the_training_split(tmp_path):
    raw = _with("profile", "smoke")
    raw["mnist"]["profiles"]["smoke"]["batch_size"] = 51
    project = _project(tmp_path, raw)
    write_prepared_mnist(project / "data" / "mnist.pt", train=50, test=20)
    kept = _previous_results(project, "results/kept/results.json")
    _assert_refused(_stage(project, "mnist.py"), "mnist: error: params.yaml: mnist.batch_size = 51: must be at most "
                                                 "the training split's 50 examples", kept)


@pytest.mark.parametrize("value, message", [
    ("gpu", "LTH_DEVICE='gpu': must be cpu, cuda or cuda:N (or unset: CUDA when present, else cpu)"),
    ("cuda:7", "LTH_DEVICE='cuda:7' but CUDA is not available on this machine; unset it or use LTH_DEVICE=cpu"),
])
def test_stage_refuses_a_bad_device(tmp_path, value, message):
    if torch.cuda.is_available():
        pytest.skip("the message for cuda:7 differs on a machine with CUDA")
    project = _project(tmp_path, _with("profile", "smoke"))
    kept = _previous_results(project, "results/kept/results.json")
    _assert_refused(_stage(project, "xor.py", env={"LTH_DEVICE": value}), f"xor: error: {message}", kept)


def test_cifar_variants_resolve_after_the_profile():
    paper, quick = _with("profile", "paper"), _with("profile", "quick")
    assert _resolve(paper, "conv2")["dropout"].iterations == 60000 and _resolve(paper, "conv2")["dropout"].dropout == 0.5
    assert _resolve(paper, "vgg19")["low_lr"].lr == 0.01 and _resolve(paper, "vgg19")["warmup"].warmup == 10000
    assert _resolve(paper, "resnet20")["warmup"].lr == 0.03
    assert _resolve(quick, "vgg19")["warmup"].warmup < _resolve(quick, "vgg19")["warmup"].iterations
    assert _resolve(quick, "conv4")["plain"].width < 1 and _resolve(paper, "conv4")["plain"].width == 1
