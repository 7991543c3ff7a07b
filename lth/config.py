"""params.yaml -> typed, validated settings.

Each experiment section holds the papers' values; its ``profiles`` sub-mapping overrides some of them for
the ``smoke`` and ``quick`` profiles (``paper`` uses the section as written). Every bad key stops the
stage before any work with one line naming the key, the value and what is allowed.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROFILES = ("smoke", "quick", "paper")


class ConfigError(ValueError):
    """A params.yaml value that is missing, unknown, of the wrong type or out of range."""


def setting(default: Any, help: str, *, min: float | None = None, max: float | None = None,
            min_exclusive: bool = False, max_exclusive: bool = False,
            choices: tuple[str, ...] | None = None, allow_empty: bool = False) -> Any:
    """A dataclass field with its allowed range/choices and a one-line explanation."""
    meta = {"help": help, "min": min, "max": max, "min_exclusive": min_exclusive,
            "max_exclusive": max_exclusive, "choices": choices, "allow_empty": allow_empty}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


# ----------------------------------------------------------------------------------------------- sections
@dataclass(frozen=True)
class DataConfig:
    validation_size: int = setting(5000, "images held out of the training set for validation", min=1)
    split_seed: int = setting(0, "seed of the fixed train/validation split", min=0)


@dataclass(frozen=True)
class XorPruningConfig:
    start_units: int = setting(10, "hidden units of the network that is trained and then pruned", min=2)
    targets: list[int] = setting([4, 2], "hidden-unit counts at which pruned networks are reported", min=1)
    units_per_round: int = setting(2, "hidden units removed per round of iterative pruning", min=1)
    heuristics: list[str] = setting(["input_magnitude", "output_magnitude", "product"],
                                    "unit-scoring heuristics to compare",
                                    choices=("input_magnitude", "output_magnitude", "product"))
    modes: list[str] = setting(["one_shot", "iterative"], "pruning schedules to compare",
                               choices=("one_shot", "iterative"))


@dataclass(frozen=True)
class XorConfig:
    hidden_units: list[int] = setting([10, 8, 6, 4, 2], "widths of the randomly initialised 2-H-1 nets", min=1)
    trials: int = setting(2000, "independent networks per configuration (standard error <= 1.12 pp)", min=1)
    iterations: int = setting(1000, "full-batch training iterations on the four XOR points", min=1)
    optimizer: str = setting("adam", "optimizer", choices=("sgd", "adam"))
    lr: float = setting(0.01, "learning rate", min=0, min_exclusive=True)
    momentum: float = setting(0.0, "SGD momentum", min=0, max=1, max_exclusive=True)
    activation: str = setting("relu", "hidden activation", choices=("relu", "tanh", "sigmoid"))
    init: str = setting("normal", "weight init (biases start at 0)",
                        choices=("normal", "glorot_normal", "glorot_uniform"))
    init_std: float = setting(1.0, "standard deviation of the 'normal' init", min=0, min_exclusive=True)
    zero_loss_threshold: float = setting(0.01, "a net 'reaches zero loss' when its mean binary "
                                         "cross-entropy on the four points is below this", min=0,
                                         min_exclusive=True)
    seed: int = setting(0, "base seed; trial i of every configuration uses seed + i", min=0)
    pruning: XorPruningConfig = field(default_factory=XorPruningConfig, metadata={"help": "unit pruning"})


MIXED_PRECISION_HELP = ("bfloat16 autocast of the training passes (weights, optimizer state and evaluation stay "
                        "float32); off for the paper's numbers")


@dataclass(frozen=True)
class MnistConfig:
    """LeNet-300-100 on MNIST (Frankle & Carbin 2019, Figures 1, 3, 4; v1 Sections 3, 4, 6)."""
    hidden_sizes: list[int] = setting([300, 100], "hidden layer widths", min=1)
    init: str = setting("glorot_normal", "weight init (final paper: Gaussian Glorot; v1: 'normal' std 0.1)",
                        choices=("glorot_normal", "normal", "glorot_uniform"))
    init_std: float = setting(0.1, "std of the 'normal' init", min=0, min_exclusive=True)
    optimizer: str = setting("adam", "optimizer", choices=("adam", "sgd"))
    lr: float = setting(1.2e-3, "learning rate", min=0, min_exclusive=True)
    batch_size: int = setting(60, "minibatch size", min=1)
    iterations: int = setting(50000, "training iterations per training run", min=1)
    eval_every: int = setting(100, "validation-loss evaluation interval (early stopping)", min=1)
    trials: int = setting(5, "independent tickets (different inits) per level", min=1)
    hidden_rate: float = setting(0.2, "fraction of each hidden layer's surviving weights pruned per round",
                                 min=0, max=1, min_exclusive=True, max_exclusive=True)
    output_rate: float = setting(0.1, "fraction of the output layer's surviving weights pruned per round",
                                 min=0, max=1, max_exclusive=True)
    min_remaining: float = setting(0.018, "iterative pruning continues until Pm <= this", min=0, max=1,
                                   min_exclusive=True, max_exclusive=True)
    one_shot_rounds: list[int] = setting([1, 2, 3, 4, 5, 7, 9, 11, 13, 15, 17],
                                         "one-shot levels, as the iterative round whose Pm they match", min=1)
    reinit_per_ticket: int = setting(3, "random-reinitialisation controls per ticket", min=0)
    rewire_per_ticket: int = setting(1, "random-rewiring controls per ticket", min=0)
    random_mask_per_ticket: int = setting(1, "random-sparse-mask controls per ticket", min=0)
    han_baseline: bool = setting(True, "train Han et al.'s prune-and-continue baseline (no rewind)")
    curve_rounds: list[int] = setting([0, 3, 7, 12, 15, 18], "rounds whose test-accuracy curves are recorded "
                                      "(Pm 100, 51.3, 21.1, 7.0, 3.6, 1.9%)", min=0)
    mixed_precision: bool = setting(False, MIXED_PRECISION_HELP)
    seed: int = setting(0, "base seed", min=0)


@dataclass(frozen=True)
class CifarConfig:
    """One CIFAR-10 network's lottery experiment (final paper Figs. 5-8): IMP with rewinding to init and the
    random-reinit control. A section's ``variants`` (dropout; learning rate; warmup) override these values."""
    arch: str = setting("conv2", "network", choices=("conv2", "conv4", "conv6", "vgg19", "resnet20"))
    width: float = setting(1.0, "multiplier of every hidden width (1 = the paper's net; < 1 for reduced-scale "
                           "runs)", min=0, min_exclusive=True)
    dropout: float = setting(0.0, "dropout rate on the hidden fc layers (Conv-2/4/6 only)", min=0, max=1,
                             max_exclusive=True)
    init: str = setting("glorot_normal", "weight init (biases 0, batch-norm scale 1)",
                        choices=("glorot_normal", "normal", "glorot_uniform"))
    init_std: float = setting(0.1, "std of the 'normal' init", min=0, min_exclusive=True)
    optimizer: str = setting("adam", "optimizer", choices=("adam", "sgd"))
    lr: float = setting(2e-4, "learning rate (after warmup)", min=0, min_exclusive=True)
    momentum: float = setting(0.9, "SGD momentum", min=0, max=1, max_exclusive=True)
    weight_decay: float = setting(0.0, "L2 weight decay", min=0)
    lr_milestones: list[int] = setting([], "iterations at which the learning rate is multiplied by lr_gamma",
                                       min=1, allow_empty=True)
    lr_gamma: float = setting(0.1, "learning-rate decay factor at each milestone", min=0, min_exclusive=True)
    warmup: int = setting(0, "iterations of linear learning-rate warmup from 0 (0 = none)", min=0)
    batch_size: int = setting(60, "minibatch size", min=1)
    iterations: int = setting(20000, "training iterations per training run", min=1)
    eval_every: int = setting(100, "validation-loss evaluation interval (early stopping)", min=1)
    augment: bool = setting(False, "random flip + 4-pixel pad-and-crop, on the device")
    mixed_precision: bool = setting(False, MIXED_PRECISION_HELP)
    pruning: str = setting("layerwise", "layerwise (conv/fc/output rates) or global (one rate over all conv "
                           "weights; shortcuts and fc unpruned)", choices=("layerwise", "global"))
    conv_rate: float = setting(0.1, "fraction of surviving conv weights pruned per round (layerwise, and the "
                               "rate of global pruning)", min=0, max=1, max_exclusive=True)
    fc_rate: float = setting(0.2, "fraction of surviving hidden-fc weights pruned per round (layerwise)",
                             min=0, max=1, max_exclusive=True)
    output_rate: float = setting(0.1, "fraction of surviving output-layer weights pruned per round (layerwise)",
                                 min=0, max=1, max_exclusive=True)
    rounds: int = setting(15, "IMP rounds after the dense run", min=0)
    trials: int = setting(5, "independent tickets (different inits) per level", min=1)
    reinit_per_ticket: int = setting(1, "random-reinitialisation controls per ticket", min=0)
    curve_rounds: list[int] = setting([0], "rounds whose test-accuracy curves are recorded", min=0,
                                      allow_empty=True)
    seed: int = setting(0, "base seed", min=0)


CIFAR_NETS = ("conv2", "conv4", "conv6", "vgg19", "resnet20")
SECTIONS: dict[str, type] = {"data": DataConfig, "xor": XorConfig, "mnist": MnistConfig,
                             **{net: CifarConfig for net in CIFAR_NETS}}
EXPERIMENTS_WITH_PROFILES = ("xor", "mnist", *CIFAR_NETS)
SECTIONS_WITH_VARIANTS = CIFAR_NETS


# --------------------------------------------------------------------------------------------- validation
def _describe_allowed(meta: dict[str, Any], kind: str) -> str:
    if meta.get("choices"):
        return "one of " + ", ".join(meta["choices"])
    parts = []
    if meta.get("min") is not None:
        parts.append((">" if meta["min_exclusive"] else ">=") + f" {meta['min']}")
    if meta.get("max") is not None:
        parts.append(("<" if meta["max_exclusive"] else "<=") + f" {meta['max']}")
    return f"{kind}" + (" " + " and ".join(parts) if parts else "")


def _check_scalar(key: str, value: Any, kind: type, meta: dict[str, Any]) -> Any:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    ok = (isinstance(value, bool) if kind is bool else
          isinstance(value, int) and not isinstance(value, bool) if kind is int else
          isinstance(value, (int, float)) and not isinstance(value, bool) if kind is float else
          isinstance(value, kind))
    allowed = _describe_allowed(meta, names[kind])
    if not ok:
        raise ConfigError(f"params.yaml: {key} = {value!r}: must be {allowed}")
    given = value
    if kind is float:
        value = float(value)
    low, high = meta.get("min"), meta.get("max")
    if ((meta.get("choices") and value not in meta["choices"])
            or (low is not None and (value < low or (meta["min_exclusive"] and value == low)))
            or (high is not None and (value > high or (meta["max_exclusive"] and value == high)))):
        raise ConfigError(f"params.yaml: {key} = {given!r}: must be {allowed}")
    return value


def build(cls: type, raw: Any, prefix: str) -> Any:
    """Validate a mapping against dataclass ``cls`` and return an instance; keys missing take defaults."""
    if not isinstance(raw, dict):
        raise ConfigError(f"params.yaml: {prefix} = {raw!r}: must be a mapping of settings")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(f"params.yaml: {prefix}.{unknown[0]}: unknown key; allowed keys of {prefix}: "
                          + ", ".join(fields))
    values = {}
    for name, value in raw.items():
        key, hint, meta = f"{prefix}.{name}", hints[name], fields[name].metadata
        if dataclasses.is_dataclass(hint):
            values[name] = build(hint, value, key)
        elif typing.get_origin(hint) is list:
            (item_kind,) = typing.get_args(hint)
            if not isinstance(value, list) or (not value and not meta.get("allow_empty")):
                raise ConfigError(f"params.yaml: {key} = {value!r}: must be a "
                                  + ("" if meta.get("allow_empty") else "non-empty ") + "list of "
                                  + _describe_allowed(meta, {int: "integers", str: "strings",
                                                             float: "numbers"}[item_kind]))
            values[name] = [_check_scalar(f"{key}[{i}]", v, item_kind, meta) for i, v in enumerate(value)]
        else:
            values[name] = _check_scalar(key, value, hint, meta)
    return cls(**values)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) \
            else value
    return merged


@dataclass(frozen=True)
class Params:
    """The whole validated params.yaml, with every experiment section resolved for the active profile."""
    profile: str
    sections: dict[str, Any]

    def __getitem__(self, section: str) -> Any:
        return self.sections[section]


def parse_params(raw: Any) -> Params:
    """Validate parsed params.yaml content (a dict) and resolve the profile's overrides."""
    if not isinstance(raw, dict):
        raise ConfigError("params.yaml: must be a mapping with keys: profile, " + ", ".join(SECTIONS))
    unknown = sorted(set(raw) - {"profile", *SECTIONS})
    if unknown:
        raise ConfigError(f"params.yaml: {unknown[0]}: unknown key; allowed top-level keys: profile, "
                          + ", ".join(SECTIONS))
    profile = raw.get("profile", "quick")
    if profile not in PROFILES:
        raise ConfigError(f"params.yaml: profile = {profile!r}: must be one of " + ", ".join(PROFILES))
    sections = {}
    for name, cls in SECTIONS.items():
        section = dict(raw.get(name) or {})
        overrides = section.pop("profiles", None) or {}
        resolve = _with_variants if name in SECTIONS_WITH_VARIANTS else build
        if name in EXPERIMENTS_WITH_PROFILES:
            if not isinstance(overrides, dict):
                raise ConfigError(f"params.yaml: {name}.profiles = {overrides!r}: must map profile names "
                                  "to overrides")
            resolve(cls, section, name)
            for prof, override in overrides.items():
                if prof not in PROFILES:
                    raise ConfigError(f"params.yaml: {name}.profiles.{prof}: unknown profile; allowed: "
                                      + ", ".join(PROFILES))
                # Validate every profile's overrides, not only the active one.
                resolve(cls, _merge(section, override or {}), f"{name}.profiles.{prof}")
            section = _merge(section, overrides.get(profile) or {})
        elif overrides:
            raise ConfigError(f"params.yaml: {name}.profiles: this section has no per-profile settings")
        sections[name] = resolve(cls, section, name)
    return Params(profile=profile, sections=sections)


def _with_variants(cls: type, raw: Any, prefix: str) -> dict[str, Any]:
    """A section with a ``variants`` mapping (variant name -> overrides) -> {variant: config}."""
    if not isinstance(raw, dict):
        raise ConfigError(f"params.yaml: {prefix} = {raw!r}: must be a mapping of settings")
    section = dict(raw)
    variants = section.pop("variants", None)
    if not isinstance(variants, dict) or not variants:
        raise ConfigError(f"params.yaml: {prefix}.variants = {variants!r}: must map variant names to overrides "
                          "(e.g. plain: {})")
    build(cls, section, prefix)
    for variant, override in variants.items():
        if not isinstance(override, (dict, type(None))):
            raise ConfigError(f"params.yaml: {prefix}.variants.{variant} = {override!r}: must be a mapping")
    return {variant: build(cls, _merge(section, override or {}), f"{prefix}.variants.{variant}")
            for variant, override in variants.items()}


def load_params(path: Path | str = "params.yaml") -> Params:
    """Read and validate params.yaml; raises ConfigError with a one-line message on any problem."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found; run from the project root (where params.yaml is)") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}".replace("\n", " ")) from None
    return parse_params(raw)


def as_dict(config: Any) -> dict[str, Any]:
    """A resolved config as a plain dict (recorded in results so the report shows what actually ran)."""
    return dataclasses.asdict(config)
