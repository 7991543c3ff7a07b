"""Shared test assertion: two training results equal bit for bit."""
import torch


def assert_same_result(a, b):
    """Final and best weights, early-stop iterations, divergence flags and every curve equal exactly."""
    for name in a.params:
        assert torch.equal(a.params[name], b.params[name]), name
        assert torch.equal(a.best_params[name], b.best_params[name]), name
    assert torch.equal(a.best_iteration, b.best_iteration) and torch.equal(a.diverged, b.diverged)
    assert a.eval_iterations == b.eval_iterations
    for split, curves in a.curves.items():
        for metric, values in curves.items():
            assert torch.equal(values, b.curves[split][metric]), (split, metric)
