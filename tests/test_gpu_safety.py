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
