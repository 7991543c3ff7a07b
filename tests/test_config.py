import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lth.config import ConfigError, load_params, parse_params

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = yaml.safe_load((ROOT / "params.yaml").read_text())


def _with(path: str, value):
    raw = copy.deepcopy(COMMITTED)
    *parents, last = path.split(".")
    node = raw
    for key in parents:
        node = node[key]
    node[last] = value
    return raw


def test_committed_params_are_valid_and_profiles_resolve():
    assert load_params(ROOT / "params.yaml").profile in ("smoke", "quick", "paper")
    smoke = parse_params(_with("profile", "smoke"))
    paper = parse_params(_with("profile", "paper"))
    assert smoke["xor"].trials < paper["xor"].trials
    assert paper["xor"].iterations == 1000


@pytest.mark.parametrize("path,value,message", [
    ("xor.iterations", -5, r"xor.iterations = -5: must be an integer >= 1"),
    ("xor.trials", 2.5, r"xor.trials = 2.5: must be an integer"),
    ("xor.lr", "fast", r"xor.lr = 'fast': must be a number > 0"),
    ("xor.lr", 0, r"xor.lr = 0: must be a number > 0"),
    ("xor.momentum", 1.0, r"xor.momentum = 1.0: must be a number >= 0 and < 1"),
    ("xor.optimizer", "rmsprop", r"xor.optimizer = 'rmsprop': must be one of sgd, adam"),
    ("xor.activation", True, r"xor.activation = True: must be one of relu"),
    ("xor.pruning.heuristics", ["product", "random"], r"xor.pruning.heuristics\[1\] = 'random': must be one of"),
    ("xor.pruning.targets", [], r"xor.pruning.targets = \[\]: must be a non-empty list"),
    ("xor.hidden_units", 10, r"xor.hidden_units = 10: must be a non-empty list"),
    ("xor.pruning", 3, r"xor.pruning = 3: must be a mapping"),
    ("xor.learning_rate", 0.1, r"xor.learning_rate: unknown key; allowed keys of xor: hidden_units"),
    ("xor.profiles.smoke", {"trials": -1}, r"xor.profiles.smoke.trials = -1"),
    ("xor.profiles.fast", {}, r"xor.profiles.fast: unknown profile"),
    ("profile", "huge", r"profile = 'huge': must be one of smoke, quick, paper"),
    ("data.validation_size", 0, r"data.validation_size = 0: must be an integer >= 1"),
    ("cifar", {}, r"cifar: unknown key; allowed top-level keys"),
    ("mnist.output_rate", 1.0, r"mnist.output_rate = 1.0: must be a number >= 0 and < 1"),
    ("mnist.hidden_rate", -0.2, r"mnist.hidden_rate = -0.2: must be a number > 0 and < 1"),
    ("mnist.init", "he", r"mnist.init = .he.: must be one of glorot_normal, normal"),
    ("mnist.han_baseline", "yes", r"mnist.han_baseline = .yes.: must be true or false"),
])
def test_bad_values_name_key_value_and_what_is_allowed(path, value, message):
    with pytest.raises(ConfigError, match=message):
        parse_params(_with(path, value))


def test_yaml_syntax_error_is_one_line(tmp_path):
    (tmp_path / "params.yaml").write_text("xor: [unclosed\n")
    with pytest.raises(ConfigError) as error:
        load_params(tmp_path / "params.yaml")
    assert "\n" not in str(error.value)


def test_stage_stops_before_work_and_keeps_existing_results(tmp_path):
    """A bad param gives one line on stderr, exit code 2, and the previous results stay untouched."""
    for folder in ("lth", "stages"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(_with("xor.iterations", -1)))
    previous = tmp_path / "results" / "xor" / "results.json"
    previous.parent.mkdir(parents=True)
    previous.write_text(json.dumps({"kept": True}))
    run = subprocess.run([sys.executable, "stages/xor.py"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip() == "xor: error: params.yaml: xor.iterations = -1: must be an integer >= 1"
    assert json.loads(previous.read_text()) == {"kept": True}


def test_cifar_variants_resolve_after_the_profile():
    paper = parse_params(_with("profile", "paper"))
    quick = parse_params(_with("profile", "quick"))
    assert paper["conv2"]["dropout"].iterations == 60000 and paper["conv2"]["dropout"].dropout == 0.5
    assert paper["vgg19"]["low_lr"].lr == 0.01 and paper["vgg19"]["warmup"].warmup == 10000
    assert paper["resnet20"]["warmup"].lr == 0.03
    assert quick["vgg19"]["warmup"].warmup < quick["vgg19"]["warmup"].iterations
    assert quick["conv4"]["plain"].width < 1 and paper["conv4"]["plain"].width == 1


@pytest.mark.parametrize("path, value, message", [
    ("conv2.variants.dropout", {"dropout": 1.5}, "conv2.variants.dropout.dropout = 1.5: must be a number >= 0"),
    ("vgg19.variants.warmup", {"warmpu": 5}, "vgg19.variants.warmup.warmpu: unknown key"),
    ("resnet20.variants", None, "resnet20.variants = None: must map variant names"),
    ("conv4.pruning", "random", "conv4.pruning = 'random': must be one of layerwise, global"),
])
def test_cifar_errors_name_the_key(path, value, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_params(_with(path, value))
