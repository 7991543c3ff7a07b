"""What a CPU can test of the CUDA path: a training step and an evaluation point never ask the device a
question (no tensor-to-Python conversion, no data-dependent shape), and the numerics settings are recorded."""
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from lth.core.convnets import global_average_pool, make_convnet
from lth.core.engine import PopulationRun, TrainJob, TrainSettings
from lth.core.masks import dense_masks, prune_by_rate
from lth.core.models import PopulationMLP
from lth.data import Split
from lth.device import configure_numerics, environment_record

# Ops that make the host wait for the device: a scalar read back (item, bool, int), or an output whose
# shape depends on the data (boolean-mask gathers and scatters go through nonzero).
SYNCING = {"_local_scalar_dense", "nonzero", "masked_select", "is_nonzero", "masked_scatter", "unique"}


class OpRecorder(TorchDispatchMode):
    """Records every ATen op dispatched, and flags indexing with boolean masks."""

    def __init__(self):
        super().__init__()
        self.ops: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.__name__.split(".")[0]
        self.ops.append(name)
        if name in ("index", "index_put", "index_put_"):
            indices = args[1] if len(args) > 1 else []
            if any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in indices or []):
                self.ops.append("boolean-mask indexing")
        return func(*args, **(kwargs or {}))


def _run(model, params, masks, train, settings, validation):
    job = TrainJob(model, params, masks, settings, train, list(range(len(next(iter(params.values()))))),
                   evaluations={"validation": validation, "test": validation},
                   eval_members={"test": torch.tensor([0])}, track_best="validation")
    run = PopulationRun(job)
    run.optimizer.avoid_sync = True         # what it is on a GPU
    return run


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_a_step_and_an_evaluation_never_wait_for_the_device(optimizer):
    generator = torch.Generator().manual_seed(0)
    train = Split(torch.randn(64, 12, generator=generator), torch.randint(0, 3, (64,), generator=generator))
    model = PopulationMLP((12, 16, 3))
    params = model.init_params([1, 2, 3])
    params["fc1.weight"][1] = float("inf")        # member 1 diverges: the freezing path runs too
    masks = prune_by_rate({n: params[n].abs() for n in model.layer_names}, dense_masks(params, model.layer_names),
                          {n: 0.5 for n in model.layer_names})
    settings = TrainSettings(iterations=6, batch_size=8, optimizer=optimizer, lr=1e-2, momentum=0.9,
                             weight_decay=1e-3, eval_every=3)
    run = _run(model, params, masks, train, settings, train)
    run.start()
    recorder = OpRecorder()
    with recorder:
        for iteration in range(3):
            run.step(iteration)
        run.record(3)
    assert run.diverged.tolist() == [False, True, False]
    assert not SYNCING & set(recorder.ops) and "boolean-mask indexing" not in recorder.ops, \
        sorted(SYNCING & set(recorder.ops) | ({"boolean-mask indexing"} & set(recorder.ops)))


def test_the_recorder_catches_the_syncs_it_looks_for():
    """The check above can fail: .any() in an if, .item() and a boolean-mask gather are all caught."""
    x = torch.randn(5)
    for sync in (lambda: bool((x > 0).any()), lambda: x.sum().item(), lambda: x[x > 0]):
        recorder = OpRecorder()
        with recorder:
            sync()
        assert SYNCING & set(recorder.ops) or "boolean-mask indexing" in recorder.ops


def test_global_average_pool_is_adaptive_average_pooling_bit_for_bit():
    """The deterministic plain mean the conv nets use equals adaptive average pooling on a CPU, forward
    and backward, at the nets' final feature-map sizes."""
    for shape in [(6, 40, 2, 2), (6, 24, 8, 8)]:
        x = torch.randn(shape, generator=torch.Generator().manual_seed(1), requires_grad=True)
        upstream = torch.randn(shape[0], shape[1], 1, 1, generator=torch.Generator().manual_seed(2))
        ours = global_average_pool(x)
        theirs = torch.nn.functional.adaptive_avg_pool2d(x, 1)
        assert torch.equal(ours, theirs)
        assert torch.equal(torch.autograd.grad(ours, x, upstream)[0], torch.autograd.grad(theirs, x, upstream)[0])
    assert make_convnet("vgg19", 0.0625) is not None


def test_numerics_are_recorded_only_where_they_exist():
    assert configure_numerics(torch.device("cpu")) is None
    assert "numerics" not in environment_record(torch.device("cpu"), None)
    assert environment_record(torch.device("cpu"), {"tf32": False})["numerics"] == {"tf32": False}


def _stage_run(tmp_path, numerics):
    import yaml

    from lth.stage_run import StageRun
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"profile": "smoke", **({"numerics": numerics} if numerics is not None else {})}))
    return StageRun(params=params)


def test_the_numerics_section_sets_tf32_and_the_results_record_it(tmp_path):
    """``numerics.tf32`` reaches the device settings through ``Compute.pick``; on a CPU (no TF32 mode) the
    results record that it was asked for and not applied, and say nothing when it is off (the paper's
    arithmetic, as every committed results file)."""
    from lth.shared.stage import Compute
    cpu = {"LTH_DEVICE": "cpu"}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in cpu.items():
            patch.setenv(key, value)
        assert "numerics" not in Compute.pick(_stage_run(tmp_path, {"tf32": False})).environment()
        asked = Compute.pick(_stage_run(tmp_path, {"tf32": True})).environment()
    assert asked["numerics"] == {"tf32": False, "tf32_requested": True}
    assert configure_numerics(torch.device("cpu"), allow_tf32=True) == {"tf32": False, "tf32_requested": True}


@pytest.mark.parametrize("numerics, message", [(None, "numerics: missing"),
                                                ({"tf32": "yes"}, "numerics.tf32"),
                                                ({"tf32": False, "bf16": True}, "bf16")])
def test_a_bad_numerics_section_is_refused_by_name(tmp_path, numerics, message):
    from lth.config import ConfigError
    from lth.shared.stage import Compute
    with pytest.raises(ConfigError, match=message):
        Compute.pick(_stage_run(tmp_path, numerics))


def test_every_training_stage_declares_the_numerics_param():
    """A stage whose module reads the ``numerics`` section lists it in dvc.yaml's params (so turning TF32 on
    re-runs exactly those stages); no other stage does."""
    import importlib
    from pathlib import Path

    import yaml
    root = Path(__file__).resolve().parents[1]
    stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        body = stage.get("do", stage)
        experiment = body["cmd"].split()[4]
        module = importlib.import_module("lth.report.stage" if experiment == "report" else
                                         f"lth.experiments.{experiment}")
        reads = "numerics" in getattr(module, "SECTIONS", {})
        assert reads == ("numerics" in body["params"]), name
        assert reads == ("Compute" in Path(module.__file__).read_text()
                         or "run_lottery_stage" in Path(module.__file__).read_text()
                         or "run_study" in Path(module.__file__).read_text()), name


def test_a_checkpoint_written_with_tf32_is_not_resumed_without_it():
    """The study fingerprint a checkpoint carries changes with the TF32 mode (a resumed run never mixes the
    two arithmetics)."""
    from types import SimpleNamespace

    from lth.shared.driver import study_fingerprint
    from lth.shared.stage import NumericsConfig
    data = SimpleNamespace(train=[0] * 3, validation=[0], test=[0] * 2, source_sha256="abc")
    before = torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        off = study_fingerprint(NumericsConfig(), data)
        torch.backends.cuda.matmul.allow_tf32 = True
        on = study_fingerprint(NumericsConfig(), data)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before
    assert off != on and off == study_fingerprint(NumericsConfig(), data)
