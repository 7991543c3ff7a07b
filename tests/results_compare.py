"""Shared test assertion: two training results equal bit for bit."""
import torch


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal shapes and values, NaN where the other has NaN (a stopped member's curve)."""
    return a.shape == b.shape and bool(((a == b) | (a.isnan() & b.isnan())).all())


def assert_same_result(a, b):
    """Final and best weights, early-stop and stop iterations, divergence flags and every curve equal exactly."""
    for name in a.params:
        assert torch.equal(a.params[name], b.params[name]), name
        assert torch.equal(a.best_params[name], b.best_params[name]), name
    assert torch.equal(a.best_iteration, b.best_iteration) and torch.equal(a.diverged, b.diverged)
    assert (a.stopped_iteration is None) == (b.stopped_iteration is None)
    if a.stopped_iteration is not None:
        assert torch.equal(a.stopped_iteration, b.stopped_iteration)
    assert a.eval_iterations == b.eval_iterations
    for split, curves in a.curves.items():
        for metric, values in curves.items():
            assert _same(values, b.curves[split][metric]), (split, metric)
