"""GPU check: what a first run on a GPU must show, in at most eight minutes, written to one JSON file.

    python bench/gpu_check.py --out gpu_check.json             # on a GPU machine (LTH_DEVICE picks another)
    python bench/gpu_check.py --tiny --out /tmp/check.json     # every section at toy sizes, on any machine

Sections, each timed and kept even when a later one fails (the JSON is rewritten after every section, with the
error's traceback in place of a failed section's numbers):

1. ``environment``: device, library versions, the numerics every stage sets (TF32 off, cuDNN autotuning), host CPU.
2. ``agreement``: the same small trainings on the CPU and on the device, from the same weights and batches
   (LeNet-300-100 and a narrow Conv-2, 50% masked): logits at init, weights after 20 SGD steps, and test
   accuracy after 200 Adam steps, each with its largest difference and the tolerance it is held to.
3. ``stages``: real stages at the ``smoke`` profile (``python -m lth run ...`` in a scratch folder with
   this checkout's prepared data): the code path a user runs, with the device each result file records.
4. ``mnist_round`` and ``conv2_round``: one lottery round's population at the paper's settings (the
   ``paper`` profile of params.yaml): LeNet-300-100 on MNIST (every control of a round: tickets, random
   reinits, rewirings, random masks, Han's baseline) and Conv-2 on CIFAR-10-sized inputs (tickets and
   reinits), with the evaluations the stage makes. A short probe first; the whole round trains only if its
   projected time fits what is left of ``--budget-s``, else the record says so and gives the projection.
   MNIST uses ``data/mnist.pt`` when it exists (then its accuracies mean something), else random inputs of
   MNIST's sizes; Conv-2 always uses random inputs of CIFAR-10's sizes (its time, not its accuracy, counts).
5. ``engine``: ``bench/engine.py --json`` (LeNet populations, paper-size Conv-2 and ResNet-20, every CIFAR net
   as the quick pipeline trains it), in a subprocess stopped when the budget runs out.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.engine import section_at, sync  # noqa: E402
from lth.config import read_params  # noqa: E402
from lth.core.convnets import make_convnet  # noqa: E402
from lth.core.engine import TrainJob, TrainSettings, train_population  # noqa: E402
from lth.core.masks import dense_masks, prune_by_rate  # noqa: E402
from lth.core.models import PopulationMLP  # noqa: E402
from lth.data import DeviceData, Split, load_prepared  # noqa: E402
from lth.device import configure_numerics, device_description, environment_record, pick_device  # noqa: E402
from lth.experiments.cifar import KIND_RATE, CifarConfig  # noqa: E402
from lth.host import host_record  # noqa: E402
from lth.shared.lenet import MnistConfig, lenet, layer_rates  # noqa: E402

# Held to: float32 with TF32 off sums each product in another order on the two devices (a few ulps times the
# square root of the fan-in, ~1e-6 relative for LeNet's 784 inputs); 20 SGD steps keep that order. 200 Adam steps
# amplify it, so only the accuracy they reach is compared, within what a few test images flipping would move.
TOLERANCES = {"logits_relative": 1e-4, "sgd_weights_relative": 1e-4, "adam_accuracy_points": 1.0}
STAGES = (("mnist",), ("double_descent", "dense"), ("transformer_tickets",))


@dataclass(frozen=True)
class Sizes:
    """How big each section runs: the real check, or ``--tiny``'s toy sizes (seconds on a CPU)."""
    examples: int = 2000              # the agreement section's training and test examples
    adam_steps: int = 200
    mnist_probe: int = 2000           # iterations of the rounds' timing probes
    conv_probe: int = 500
    round_cap: int = 0                # 0 = the paper's iterations and evaluation interval; else (tiny) at most
                                      # this many iterations, evaluated every tenth of them
    mnist_splits: tuple[int, int, int] = (55000, 5000, 10000)    # train, validation, test (the papers')
    cifar_splits: tuple[int, int, int] = (45000, 5000, 10000)
    conv_width: float = 0.0           # 0 = the paper's Conv-2; tiny: a narrow one
    stages: tuple[tuple[str, ...], ...] = STAGES
    engine_args: tuple[str, ...] = ()


TINY = Sizes(examples=120, adam_steps=20, mnist_probe=10, conv_probe=2, round_cap=20,
             mnist_splits=(600, 100, 100), cifar_splits=(300, 100, 100), conv_width=0.0625,
             stages=STAGES[-1:],
             engine_args=("--tiny",))


class Budget:
    """Seconds left of the check's time budget."""

    def __init__(self, seconds: float):
        self.end = time.perf_counter() + seconds

    def left(self) -> float:
        """Seconds until the budget is spent (negative once it is)."""
        return self.end - time.perf_counter()


def largest_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """The largest |a - b| over every tensor of two same-keyed dicts, relative to the largest |a|."""
    diff = max(float((a[n].cpu() - b[n].cpu()).abs().max()) for n in a)
    scale = max(float(a[n].abs().max()) for n in a)
    return diff / scale if scale else diff


def within(value: float, tolerance: float) -> dict[str, Any]:
    """A compared quantity with its tolerance and whether it holds."""
    return {"difference": value, "tolerance": tolerance, "ok": bool(value <= tolerance)}


def _small_case(kind: str, examples: int) -> tuple[Any, dict[str, torch.Tensor], dict[str, torch.Tensor], Split, Split]:
    """(model, params, masks, train, test) of a small CPU case: 3 LeNets or 2 Conv-2 nets at width 1/8, half of
    each weight layer pruned by magnitude, on random inputs with labels a fixed linear map of them (learnable)."""
    generator = torch.Generator().manual_seed(0)
    if kind == "lenet":
        model, members, shape = PopulationMLP((784, 300, 100, 10)), 3, (784,)
    else:
        model, members, shape = make_convnet("conv2", 0.125), 2, (3, 32, 32)
    params = model.init_params(list(range(members)))
    names = model.layer_names if kind == "lenet" else list(model.layer_kinds)
    masks = prune_by_rate({n: params[n].abs() for n in names}, dense_masks(params, names), {n: 0.5 for n in names})
    x = torch.randn(2 * examples, *shape, generator=generator)
    y = (x.flatten(1) @ torch.randn(x[0].numel(), 10, generator=generator)).argmax(1)
    return model, params, masks, Split(x[:examples], y[:examples]), Split(x[examples:], y[examples:])


def _train(model: Any, params: dict, masks: dict, train: Split, test: Split, settings: TrainSettings,
           device: torch.device) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """(final weights, test accuracy [K]) of one training on ``device`` (everything moved there first)."""
    on = lambda tensors: {n: t.to(device) for n, t in tensors.items()}  # noqa: E731
    move = lambda split: Split(split.x.to(device), split.y.to(device))  # noqa: E731
    job = TrainJob(model, on(params), on(masks), settings, move(train), list(range(len(next(iter(params.values()))))),
                   evaluations={"test": move(test)})
    result = train_population(job)
    return result.params, result.curves["test"]["accuracy"][:, -1].cpu()


def agreement(device: torch.device, sizes: Sizes) -> dict[str, Any]:
    """The CPU and ``device`` on the same small trainings (see the module's docstring)."""
    out: dict[str, Any] = {"compared": f"cpu vs {device_description(device)}", "tolerances": TOLERANCES}
    for kind in ("lenet", "conv2"):
        model, params, masks, train, test = _small_case(kind, sizes.examples)
        with torch.no_grad():
            cpu_logits = model.forward(params, test.x[:256])
            dev_logits = model.forward({n: t.to(device) for n, t in params.items()}, test.x[:256].to(device))
        sgd = TrainSettings(iterations=20, batch_size=60, optimizer="sgd", lr=0.01, shared_data_order=True)
        adam = TrainSettings(iterations=sizes.adam_steps, batch_size=60, optimizer="adam", lr=1.2e-3)
        sgd_cpu, _ = _train(model, params, masks, train, test, sgd, torch.device("cpu"))
        sgd_dev, _ = _train(model, params, masks, train, test, sgd, device)
        _, acc_cpu = _train(model, params, masks, train, test, adam, torch.device("cpu"))
        _, acc_dev = _train(model, params, masks, train, test, adam, device)
        points = lambda accuracies: [round(100 * float(a), 2) for a in accuracies]  # noqa: E731
        out[kind] = {
            "logits": within(largest_difference({"l": cpu_logits}, {"l": dev_logits}), TOLERANCES["logits_relative"]),
            "weights_after_20_sgd_steps": within(largest_difference(sgd_cpu, sgd_dev),
                                                 TOLERANCES["sgd_weights_relative"]),
            f"test_accuracy_after_{sizes.adam_steps}_adam_steps": {
                "cpu": points(acc_cpu), "device": points(acc_dev),
                **within(float((acc_cpu - acc_dev).abs().max()) * 100, TOLERANCES["adam_accuracy_points"])}}
    out["ok"] = all(check["ok"] for kind in ("lenet", "conv2") for check in out[kind].values())
    return out


def paper_config(section: str, schema: type) -> Any:
    """Section ``section`` of params.yaml at the ``paper`` profile (its first variant, if it has several)."""
    config = section_at("paper", section, schema, variants=schema is CifarConfig)
    return next(iter(config.values())) if isinstance(config, dict) else config


def random_data(shape: tuple[int, ...], train: int, validation: int, test: int, device: torch.device) -> DeviceData:
    """Random inputs and labels with a dataset's sizes (for timing only: nothing to learn)."""
    generator = torch.Generator().manual_seed(0)
    split = lambda n: Split(torch.randn(n, *shape, generator=generator).to(device),  # noqa: E731
                            torch.randint(0, 10, (n,), generator=generator).to(device))
    return DeviceData(split(train), split(validation), split(test))


def round_settings(config: Any, iterations: int, sizes: Sizes) -> TrainSettings:
    """The section's training settings for ``iterations`` (tiny: evaluated every tenth of them)."""
    every = max(1, iterations // 10) if sizes.round_cap else config.eval_every
    return config.to_train_settings(iterations=iterations, eval_every=every, patience=0)


def _round_job(model: Any, names: list[str], rates: dict[str, float], members: int, settings: TrainSettings,
               data: DeviceData, device: torch.device) -> TrainJob:
    """``members`` nets pruned once at ``rates`` (a round-1 population), trained on ``data.train`` with the
    stage's evaluations: validation (early stop) and test, every ``eval_every`` iterations."""
    params = model.init_params(list(range(members)), device=device)
    masks = prune_by_rate({n: params[n].abs() for n in names}, dense_masks(params, names), rates)
    return TrainJob(model, params, masks, settings, data.train, list(range(members)),
                    evaluations={"validation": data.validation, "test": data.test}, track_best="validation")


def timed_round(build: Callable[[int], TrainJob], full: int, probe: int, budget: Budget,
                device: torch.device) -> dict[str, Any]:
    """Time a probe of ``probe`` iterations, project the whole round (``full`` iterations) from it, and train
    the whole round when the projection fits the budget left; member-iterations/s include the evaluations."""
    def run(iterations: int) -> tuple[float, TrainJob, Any]:
        job = build(iterations)
        sync(device)
        start = time.perf_counter()
        result = train_population(job)
        sync(device)
        return time.perf_counter() - start, job, result

    seconds, job, _ = run(probe)
    projected = seconds * full / probe
    record = {"members": job.members, "iterations": full, "eval_every": job.settings.eval_every,
              "probe_iterations": probe, "probe_s": round(seconds, 2),
              "projected_round_s": round(projected, 1),
              "member_iterations_per_s_probe": round(job.members * probe / seconds, 1)}
    if projected > budget.left():
        record["round"] = f"not trained: {projected:.0f} s projected, {budget.left():.0f} s left of the budget"
        return record
    seconds, job, result = run(full)
    best = result.best_iteration.float()
    record.update(round_s=round(seconds, 1), member_iterations_per_s=round(job.members * full / seconds, 1),
                  early_stop_iteration_mean=round(float(best.mean()), 1),
                  test_accuracy_at_end_mean=round(100 * float(result.curves["test"]["accuracy"][:, -1].mean()), 2))
    return record


def mnist_round(device: torch.device, sizes: Sizes, budget: Budget) -> dict[str, Any]:
    """One IMP round of LeNet-300-100 with every control, at the paper's settings (see the module's docstring)."""
    config = paper_config("mnist", MnistConfig)
    prepared = ROOT / "data" / "mnist.pt"
    real = prepared.exists() and not sizes.round_cap
    data = load_prepared(prepared, device, flatten=True) if real else random_data((784,), *sizes.mnist_splits, device)
    model = lenet(config)
    per_ticket = 1 + config.reinit_per_ticket + config.rewire_per_ticket + config.random_mask_per_ticket + 1
    full = min(config.iterations, sizes.round_cap or config.iterations)
    build = lambda its: _round_job(model, model.layer_names, layer_rates(config, model.layer_names),  # noqa: E731
                                   config.trials * per_ticket, round_settings(config, its, sizes), data, device)
    record = timed_round(build, full, min(full, sizes.mnist_probe), budget, device)
    return {"data": "data/mnist.pt" if real else "random inputs of MNIST's sizes", "batch_size": config.batch_size,
            **record}


def conv2_round(device: torch.device, sizes: Sizes, budget: Budget) -> dict[str, Any]:
    """One IMP round of paper-size Conv-2 (tickets and random reinits) at the paper's settings, random inputs."""
    config = paper_config("conv2", CifarConfig)
    model = make_convnet(config.arch, sizes.conv_width or config.width, config.dropout)
    names = [n for n, kind in model.layer_kinds.items() if kind in KIND_RATE]
    rates = {n: getattr(config, KIND_RATE[model.layer_kinds[n]]) for n in names}
    data = random_data((3, 32, 32), *sizes.cifar_splits, device)
    full = min(config.iterations, sizes.round_cap or config.iterations)
    build = lambda its: _round_job(model, names, rates, config.trials * (1 + config.reinit_per_ticket),  # noqa: E731
                                   round_settings(config, its, sizes), data, device)
    record = timed_round(build, full, min(full, sizes.conv_probe), budget, device)
    return {"data": "random inputs of CIFAR-10's sizes", "width": sizes.conv_width or config.width,
            "batch_size": config.batch_size, **record}


def stages(sizes: Sizes, budget: Budget) -> dict[str, Any]:
    """Each of ``STAGES`` at the smoke profile, run as a user runs it, in a scratch folder whose ``data`` is this
    checkout's: its summary line, wall time, and the device its results file records."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        raw = read_params(ROOT / "params.yaml")
        (folder / "params.yaml").write_text(yaml.safe_dump({**raw, "profile": "smoke"}, sort_keys=False))
        (folder / "data").symlink_to(ROOT / "data")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        for stage in sizes.stages:
            name = "@".join(stage)
            if budget.left() < 30:
                out[name] = {"ok": False, "error": "not run: the budget is spent"}
                continue
            start = time.perf_counter()
            try:
                done = subprocess.run([sys.executable, "-m", "lth", "run", *stage], cwd=folder, env=env, text=True,
                                      capture_output=True, timeout=max(30, budget.left()))
                record = {"ok": done.returncode == 0, "seconds": round(time.perf_counter() - start, 1),
                          "summary": done.stdout.strip().splitlines()[-1:]}
                if done.returncode:
                    record["stderr_tail"] = done.stderr[-3000:]
            except subprocess.TimeoutExpired:
                record = {"ok": False, "error": "stopped: the budget ran out"}
            record["devices"] = sorted(recorded_devices(folder / "results"))
            out[name] = record
    return out


def recorded_devices(results: Path) -> set[str]:
    """The devices that the JSON result files under ``results`` record (``environment.device``)."""
    found = set()
    for path in results.rglob("*.json"):
        try:
            environment = json.loads(path.read_text()).get("environment", {})
        except (ValueError, AttributeError):
            continue
        if isinstance(environment, dict) and "device" in environment:
            found.add(environment["device"])
    return found


def engine(sizes: Sizes, budget: Budget) -> dict[str, Any]:
    """``bench/engine.py --json`` in a subprocess, stopped when the budget runs out."""
    if budget.left() < 30:
        return {"ok": False, "error": "not run: the budget is spent"}
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, str(ROOT / "bench" / "engine.py"), "--json", *sizes.engine_args],
                              text=True, capture_output=True, timeout=budget.left())
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"stopped after {time.perf_counter() - start:.0f} s: the budget ran out"}
    if done.returncode:
        return {"ok": False, "error": done.stderr[-3000:]}
    return {"ok": True, "seconds": round(time.perf_counter() - start, 1), **json.loads(done.stdout)}


def environment(device: torch.device) -> dict[str, Any]:
    """The device, its numerics as every stage sets them, library versions and the host CPU."""
    numerics = configure_numerics(device)
    record = {"device": device_description(device), **environment_record(device, numerics), "host": host_record(),
              "machine": platform.node()}
    if device.type == "cuda":
        record["cuda"] = torch.version.cuda
    return record


def run_sections(sections: list[tuple[str, Callable[[], Any]]], out: Path) -> dict[str, Any]:
    """Run each section, timing it and catching its failure; rewrite ``out`` after each one."""
    report: dict[str, Any] = {}
    for name, section in sections:
        start = time.perf_counter()
        try:
            report[name] = section()
        except Exception:      # a failed section must not cost the others' numbers
            report[name] = {"ok": False, "error": traceback.format_exc()[-4000:]}
        report[name]["section_s"] = round(time.perf_counter() - start, 1)
        print(f"{name}: {report[name]['section_s']} s{' FAILED' if report[name].get('ok') is False else ''}",
              flush=True)
        out.write_text(json.dumps(report, indent=1))
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (``argv``, or ``sys.argv``'s)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"), help="the JSON file written")
    parser.add_argument("--budget-s", type=float, default=480.0,
                        help="seconds the whole check may take (default 480); a round that would not fit is "
                             "projected instead of trained, and the engine bench stops when it is spent")
    parser.add_argument("--tiny", action="store_true", help="every section at toy sizes (seconds on a CPU; the "
                        "numbers mean nothing): what tests/test_gpu_check.py runs")
    parser.add_argument("--skip", nargs="*", default=[], choices=SECTION_NAMES, help="sections left out")
    return parser.parse_args(argv)


SECTION_NAMES = ("environment", "agreement", "stages", "mnist_round", "conv2_round", "engine")


def main(argv: list[str] | None = None) -> None:
    """Run every section not skipped and write the JSON; exit 1 if any section failed."""
    args = parse_args(argv)
    sizes, budget, device = TINY if args.tiny else Sizes(), Budget(args.budget_s), pick_device()
    sections = {"environment": lambda: environment(device), "agreement": lambda: agreement(device, sizes),
                "stages": lambda: stages(sizes, budget), "mnist_round": lambda: mnist_round(device, sizes, budget),
                "conv2_round": lambda: conv2_round(device, sizes, budget), "engine": lambda: engine(sizes, budget)}
    report = run_sections([(n, sections[n]) for n in SECTION_NAMES if n not in args.skip], args.out)
    failed = [name for name, record in report.items() if record.get("ok") is False]
    print(f"wrote {args.out}" + (f"; failed: {', '.join(failed)}" if failed else "; every section ran"))
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
