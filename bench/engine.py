"""Benchmark: population-engine speed for LeNet-300-100 vs a plain per-model PyTorch loop vs sgemm.

Measures, on the current device (LTH_DEVICE overrides): model-steps/s of the population engine (masked,
Adam, batch 60) for K = 1, 8, 32, 128 members, with per-member and shared batch order, in one process and (on
a multi-core CPU) split over one single-thread worker process per core as the MNIST stage trains them; the
same for the usual open_lth-style loop (an nn.Module, a DataLoader over a TensorDataset, one model at a time;
measured three times, the fastest run counts); the machine's sgemm rate; the best population again with
bfloat16 autocast; a practical ceiling for the step (its matrix products plus one Adam update, timed alone),
in one process and split over processes; the step rates of paper-size Conv-2 and ResNet-20 populations
(for the README's cost estimate of the `paper` profile); and the step rate of every CIFAR net as the pipeline
trains it (a params.yaml profile, `quick` unless --pipeline-profile says otherwise: the section's width, batch
size, optimizer and augmentation, and the population a pruning round trains, trials x (1 + reinit_per_ticket),
in groups of members as ``lth.shared.subsets.population_chunk`` groups them on this device), with, for
Conv-2/4/6 trained one member at a time, a practical ceiling (its convolutions, pools, fc products and Adam
timed alone). On CUDA the stage's numerics are set first (``lth.device.configure_numerics``: cuDNN
autotuning, no TF32). Prints the ratios; --json prints one JSON object.
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from lth.config import read_params, resolve_section
from lth.core.convnets import CONV_PLANS, VGGS, make_convnet
from lth.core.cpu_fastpath import gradient_block_members
from lth.core.engine import Split, TrainJob, TrainResult, TrainSettings, train_in_chunks, train_population
from lth.core.masks import dense_masks, prune_by_rate
from lth.core.models import PopulationMLP
from lth.core.optimizer import PopulationOptimizer
from lth.core.processes import train_in_processes, worker_count
from lth.device import configure_numerics, device_description, pick_device
from lth.experiments.cifar import CIFAR_NETS, CifarConfig
from lth.shared.subsets import population_chunk

ROOT = Path(__file__).resolve().parents[1]

STEP_FLOP = 6 * 60 * (784 * 300 + 300 * 100 + 100 * 10)   # forward 2, backward 4 FLOP per MAC, batch 60


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA), so that a timer reads the work's end; nothing on a CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def sgemm_gflops(device: torch.device, n: int = 2048, repeat: int = 10) -> float:
    """GFLOP/s of a large float32 matrix product (the machine's practical ceiling)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(repeat):
        a @ b
    sync(device)
    return 2 * n ** 3 * repeat / (time.perf_counter() - start) / 1e9


def population_rate(device: torch.device, data: Split, members: int, shared: bool, iterations: int,
                    mixed_precision: bool = False, processes: int = 1) -> float:
    """Model-steps/s of the engine: ``members`` masked LeNets (50% sparse) trained with Adam at batch 60
    (float32, or with bfloat16 autocast for ``mixed_precision``), in one process or split over
    ``processes`` single-thread worker processes as the MNIST stage trains them."""
    model = PopulationMLP((784, 300, 100, 10))
    params = model.init_params(list(range(members)), device=device)
    masks = prune_by_rate({n: params[n].abs() for n in model.layer_names}, dense_masks(params, model.layer_names),
                          {n: 0.5 for n in model.layer_names})
    settings = TrainSettings(iterations=iterations, batch_size=60, optimizer="adam", lr=1.2e-3,
                             shared_data_order=shared, mixed_precision=mixed_precision)
    job = TrainJob(model, params, masks, settings, data, list(range(members)))
    if processes > 1:
        return _timed_split_rate(job, processes)
    return _timed_engine_rate(device, job, warmup=5)


def _timed_split_rate(job: TrainJob, processes: int) -> float:
    """Model-steps/s of ``train_in_processes``, wall clock of the whole call: forking the workers, their
    first steps and sending the results back are included (a fixed cost per population, amortised over
    the thousands of iterations of a pipeline round but not over a short measurement)."""
    start = time.perf_counter()
    train_in_processes(job, job.members, processes)
    return job.members * job.settings.iterations / (time.perf_counter() - start)


def _timed_engine_rate(device: torch.device, job: TrainJob, warmup: int,
                       train: Callable[[TrainJob], TrainResult] = train_population) -> float:
    """Model-steps/s of ``train(job)`` (``train_population`` unless told) after a short untimed warm-up run
    (allocations, kernel choice, cuDNN's autotuning)."""
    train(dataclasses.replace(job, settings=dataclasses.replace(job.settings, iterations=warmup)))
    sync(device)
    start = time.perf_counter()
    train(job)
    sync(device)
    return job.members * job.settings.iterations / (time.perf_counter() - start)


def _ms_per_call(device: torch.device, function, repeat: int = 30) -> float:
    for _ in range(3):
        function()
    sync(device)
    start = time.perf_counter()
    for _ in range(repeat):
        function()
    sync(device)
    return (time.perf_counter() - start) / repeat * 1e3


def step_floor(device: torch.device, members: int = 32) -> dict[str, float]:
    """A practical ceiling for a shared-order LeNet population step: its matrix products alone (forward,
    input and weight gradients, no first-layer input gradient) plus the engine's Adam update of all weights
    alone (on a CPU each weight a block of members at a time from a gradient block already in cache, as the
    backward pass hands it over; a memory-bound pass over weights and moments), each timed in isolation. A
    float32 step built from the library's products and optimizer kernel pays at least their sum; the
    model-steps/s this allows is what the speed targets should be read against."""
    generator = torch.Generator().manual_seed(0)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator).to(device)

    sizes = (784, 300, 100, 10)
    x = randn(60, 784).expand(members, 60, 784)
    weights = [randn(members, o, i) for i, o in zip(sizes[:-1], sizes[1:])]
    acts = [x] + [randn(members, 60, o) for o in sizes[1:-1]]
    grads = [randn(members, 60, o) for o in sizes[1:]]

    def products() -> None:
        for h, w in zip(acts, weights):
            torch.bmm(h, w.transpose(1, 2))
        for layer, (h, w, g) in enumerate(zip(acts, weights, grads)):
            torch.bmm(g.transpose(1, 2), h)
            if layer:
                torch.bmm(g, w)

    params = {f"fc{i}.weight": w for i, w in enumerate(weights)}
    params.update({f"fc{i}.bias": randn(members, o) for i, o in enumerate(sizes[1:])})
    optimizer = PopulationOptimizer(params, set(), TrainSettings(iterations=1, optimizer="adam", lr=1e-3))
    in_backward = {id(weight): update for weight, update in optimizer.backward_updates().items()}
    updates = {name: in_backward[id(p)] for name, p in optimizer.state.items() if id(p) in in_backward}
    blocks = {name: gradient_block_members(members, p[0].numel(), p.dtype) for name, p in optimizer.state.items()}
    gradients = {name: randn(blocks[name] if name in updates else members, *p.shape[1:])
                 for name, p in optimizer.state.items()}

    def adam() -> None:
        optimizer.zero_grad()
        for name, update in updates.items():
            for start in range(0, members, blocks[name]):
                stop = min(members, start + blocks[name])
                update(start, stop, gradients[name][:stop - start])
        for name, p in optimizer.state.items():
            if name not in updates:
                p.grad = gradients[name]
        optimizer.step()

    gemm_ms, adam_ms = _ms_per_call(device, products), _ms_per_call(device, adam)
    return {"members": members, "products_ms": round(gemm_ms, 2), "adam_ms": round(adam_ms, 2),
            "model_steps_per_s": round(members / (gemm_ms + adam_ms) * 1e3, 1)}


def split_step_floor(device: torch.device, processes: int, members: int = 16) -> dict[str, float]:
    """The same ceiling for a population split over ``processes`` single-thread worker processes: the
    single-thread ceiling of ``members`` LeNets, times ``processes`` (perfect scaling over processes)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        floor = step_floor(device, members)
    finally:
        torch.set_num_threads(threads)
    floor["processes"] = processes
    floor["model_steps_per_s"] = round(floor["model_steps_per_s"] * processes, 1)
    return floor


def plain_loop_rate(device: torch.device, data: Split, iterations: int) -> float:
    """Model-steps/s of the usual loop: nn.Module + DataLoader(TensorDataset), masks applied each step."""
    net = nn.Sequential(nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10)).to(device)
    masks = [torch.rand_like(m.weight) > 0.5 for m in net if isinstance(m, nn.Linear)]
    optimizer = torch.optim.Adam(net.parameters(), lr=1.2e-3)
    loader = DataLoader(TensorDataset(data.x.cpu(), data.y.cpu()), batch_size=60, shuffle=True, drop_last=True)

    def steps(count: int) -> None:
        done = 0
        while done < count:
            for x, y in loader:
                x, y = x.to(device), y.to(device)
                loss = nn.functional.cross_entropy(net(x), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                with torch.no_grad():
                    for layer, mask in zip((m for m in net if isinstance(m, nn.Linear)), masks):
                        layer.weight.mul_(mask)
                done += 1
                if done == count:
                    return

    steps(5)
    sync(device)
    start = time.perf_counter()
    steps(iterations)
    sync(device)
    return iterations / (time.perf_counter() - start)


def _images(device: torch.device, count: int = 2000) -> Split:
    """Random CIFAR-sized images, held channels-last as the stages hold CIFAR-10 (``lth.data.load_prepared``)."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(count, 3, 32, 32, generator=generator).contiguous(memory_format=torch.channels_last)
    return Split(images.to(device), torch.randint(0, 10, (count,), generator=generator).to(device))


def _conv_job(device: torch.device, model: Any, members: int, settings: TrainSettings) -> TrainJob:
    """``members`` of a conv net on random CIFAR-sized images, 50% of their conv weights masked."""
    params = model.init_params(list(range(members)), device=device)
    masks = {n: torch.rand(params[n].shape, generator=torch.Generator().manual_seed(0)).to(device) > 0.5
             for n, kind in model.layer_kinds.items() if kind == "conv"}
    return TrainJob(model, params, masks, settings, _images(device), list(range(members)))


def conv_rate(device: torch.device, arch: str, members: int, iterations: int) -> float:
    """Model-steps/s of the engine for a paper-size CIFAR net: Conv-2 (Adam, batch 60) or ResNet-20 (SGD
    with momentum and weight decay, batch 128, on-device augmentation), 50% of conv weights masked."""
    if arch == "conv2":
        settings = TrainSettings(iterations=iterations, batch_size=60, optimizer="adam", lr=2e-4)
    else:
        settings = TrainSettings(iterations=iterations, batch_size=128, optimizer="sgd", lr=0.1, momentum=0.9,
                                 weight_decay=1e-4, augment=True)
    return _timed_engine_rate(device, _conv_job(device, make_convnet(arch), members, settings), warmup=2)


def section_at(profile: str, name: str, schema: type, variants: bool = False) -> Any:
    """Section ``name`` of params.yaml resolved for ``profile``, whichever profile the file selects (with
    ``variants``: variant name -> config)."""
    return resolve_section(_params_at(profile), name, schema, variants=variants).config


@functools.cache
def _params_at(profile: str) -> dict[str, Any]:
    """params.yaml with ``profile`` selected, read once per run (each read parses the whole file)."""
    return {**read_params(ROOT / "params.yaml"), "profile": profile}


def pipeline_configs(profile: str, nets: list[str]) -> dict[str, tuple[str, CifarConfig]]:
    """net -> (variant, config): each CIFAR section of params.yaml resolved for ``profile`` (its first
    variant; the variants of a net share its width, batch size and population)."""
    configs = {}
    for net in nets:
        variants = section_at(profile, net, CifarConfig, variants=True)
        variant = next(iter(variants))
        configs[net] = (variant, variants[variant])
    return configs


def conv_step_floor(device: torch.device, config: CifarConfig) -> dict[str, float]:
    """A practical ceiling for one member's step of a Conv-2/4/6 net at ``config``'s width and batch size: its
    convolutions (forward, input gradient except the first layer's, weight gradient; channels-last, as the
    model runs them), max-pools and fc products, and Adam over its weights, each timed alone. A float32 step
    built from these kernels pays at least their sum (ReLUs, masks and bookkeeping come on top)."""
    model = make_convnet(config.arch, config.width, config.dropout)
    shapes, batch, cl = model.shapes(), config.batch_size, torch.channels_last
    generator = torch.Generator().manual_seed(0)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator).to(device)

    calls, channels, size, index = [], 3, 32, 0
    for item in CONV_PLANS[config.arch]:
        if item == "M":
            x = randn(batch, channels, size, size).contiguous(memory_format=cl).requires_grad_()
            y = F.max_pool2d(x, 2)
            calls.append(lambda x=x, y=y: (F.max_pool2d(x.detach(), 2),
                                           torch.autograd.grad(y, x, torch.ones_like(y), retain_graph=True)))
            size //= 2
            continue
        weight = randn(*shapes[f"conv{index}.weight"][0])
        x = randn(batch, channels, size, size).contiguous(memory_format=cl)
        grad = randn(batch, weight.shape[0], size, size).contiguous(memory_format=cl)
        mask = (False, True, True) if index == 0 else (True, True, True)
        calls.append(lambda x=x, w=weight, g=grad, m=mask: (
            F.conv2d(x, w, None, padding=1),
            torch.ops.aten.convolution_backward(g, x, w, [w.shape[0]], [1, 1], [1, 1], [1, 1], False, [0, 0], 1, m)))
        channels, index = weight.shape[0], index + 1
    features = channels * size * size
    for i, out in enumerate([*model.fc_sizes, model.classes]):
        h, w, g = randn(batch, features), randn(out, features), randn(batch, out)
        calls.append(lambda h=h, w=w, g=g: (h @ w.t(), g.t() @ h, g @ w))
        features = out
    params = {name: randn(1, *shape) for name, (shape, kind) in shapes.items()}
    optimizer = PopulationOptimizer(params, set(), TrainSettings(iterations=1, optimizer="adam", lr=1e-3))
    gradients = {name: torch.randn_like(p) for name, p in optimizer.state.items()}

    def adam() -> None:
        for name, p in optimizer.state.items():
            p.grad = gradients[name]
        optimizer.step()

    kernels_ms = _ms_per_call(device, lambda: [call() for call in calls])
    adam_ms = _ms_per_call(device, adam)
    return {"kernels_ms": round(kernels_ms, 2), "adam_ms": round(adam_ms, 2),
            "model_steps_per_s": round(1e3 / (kernels_ms + adam_ms), 1)}


def pipeline_conv_rate(device: torch.device, config: CifarConfig, iterations: int) -> dict[str, Any]:
    """Model-steps/s of one CIFAR net as a pruning round of the pipeline trains it: the config's net,
    width, dropout, batch size, optimizer, schedule and augmentation; trials x (1 + reinit_per_ticket)
    members, trained in groups of ``population_chunk(device)`` (one at a time on a CPU, all at once on a
    GPU). Only the training steps are timed (no evaluation), so every member trains all ``iterations``: the
    config's ``patience`` (an early stop decided on validation losses, which the engine refuses without a
    tracked split) is off; it decides how many steps a member trains, not what a step costs."""
    members = config.trials * (1 + config.reinit_per_ticket)
    chunk = population_chunk(device) or members
    settings = config.to_train_settings(iterations=iterations, eval_every=0, patience=0)
    job = _conv_job(device, make_convnet(config.arch, config.width, config.dropout), members, settings)
    rate = _timed_engine_rate(device, job, warmup=2, train=lambda j: train_in_chunks(j, chunk))
    row = {"members": members, "chunk": chunk, "width": config.width, "batch_size": config.batch_size,
           "optimizer": config.optimizer, "augment": config.augment, "model_steps_per_s": round(rate, 2)}
    if config.arch in CONV_PLANS and config.arch not in VGGS and chunk == 1:
        row["ceiling"] = conv_step_floor(device, config)
        row["fraction_of_ceiling"] = round(rate / row["ceiling"]["model_steps_per_s"], 3)
    return row



# --tiny: every row at toy sizes, in seconds (tests/test_bench.py runs it so the bench cannot break silently);
# its rates mean nothing. The smoke profile's CIFAR sections have patience > 0, as quick's do.
TINY = {"members": [1, 2], "model_steps": 40, "split_model_steps": 40, "conv_iterations": 2, "conv_members": [1],
        "pipeline_profile": "smoke", "sgemm_size": 256, "plain_iterations": 20, "lenet_examples": 600}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (``argv``, or ``sys.argv``'s); ``--tiny`` replaces the sizes by ``TINY``'s."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--members", type=int, nargs="+", default=[1, 8, 32, 128], help="population sizes K")
    parser.add_argument("--model-steps", type=int, default=3000,
                        help="model-steps per measurement (iterations = this / K, at least 20)")
    parser.add_argument("--split-model-steps", type=int, default=12000,
                        help="model-steps per measurement of a population split over worker processes (longer: "
                             "the wall clock includes forking the workers and collecting their results)")
    parser.add_argument("--conv-iterations", type=int, default=0,
                        help="iterations per conv-net measurement, paper-size and pipeline rows (0 = 20 on a CPU, "
                             "200 on a GPU)")
    parser.add_argument("--conv-members", type=int, nargs="+", default=[1, 4],
                        help="population sizes for the paper-size conv nets")
    parser.add_argument("--pipeline-profile", default="quick", choices=("smoke", "quick", "paper"),
                        help="params.yaml profile whose CIFAR nets are measured as the pipeline trains them")
    parser.add_argument("--pipeline-nets", nargs="*", default=list(CIFAR_NETS), choices=CIFAR_NETS,
                        help="CIFAR nets measured at the pipeline's sizes (none: skip those rows)")
    parser.add_argument("--tiny", action="store_true",
                        help="a check that every row runs, in seconds: toy sizes over the options above (K = 1 "
                             "and 2, 40 model-steps, 2 conv iterations, the smoke profile); the rates mean nothing")
    args = parser.parse_args(argv)
    args.sgemm_size, args.plain_iterations, args.lenet_examples = 2048, max(200, args.model_steps // 4), 55000
    if args.tiny:
        vars(args).update(TINY)
    return args


def lenet_rows(device: torch.device, data: Split, args: argparse.Namespace, gemm: float) -> list[dict[str, Any]]:
    """One row per K, batch order and process split: the engine's LeNet model-steps/s and share of sgemm."""
    rows = []
    for members in args.members:
        processes = worker_count(device, members)
        for split in ((1, processes) if processes > 1 else (1,)):
            steps = args.model_steps if split == 1 else args.split_model_steps
            for shared in (False, True):
                rate = population_rate(device, data, members, shared, max(20, steps // members), processes=split)
                rows.append({"members": members, "shared_order": shared, "processes": split,
                             "model_steps_per_s": round(rate, 1),
                             "fraction_of_sgemm": round(rate * STEP_FLOP / 1e9 / gemm, 3)})
    return rows


def best_rows(device: torch.device, data: Split, args: argparse.Namespace, rows: list[dict[str, Any]],
              gemm: float) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """(best, mixed, floors): the fastest LeNet row (with its share of its ceiling), the same population with
    bfloat16 autocast, and the step ceilings in one process and (several cores) split over processes."""
    best = max(rows, key=lambda r: r["model_steps_per_s"])
    steps = args.model_steps if best["processes"] == 1 else args.split_model_steps
    mixed = population_rate(device, data, best["members"], True, max(20, steps // best["members"]), True,
                            best["processes"])
    mixed_row = {"members": best["members"], "shared_order": True, "processes": best["processes"],
                 "model_steps_per_s": round(mixed, 1)}
    floor = step_floor(device)
    floor["processes"] = 1
    processes = worker_count(device, 32)
    floors = [floor] + ([split_step_floor(device, processes)] if processes > 1 else [])
    for row in floors:
        row["fraction_of_sgemm"] = round(row["model_steps_per_s"] * STEP_FLOP / 1e9 / gemm, 3)
    own_floor = next(row for row in floors if row["processes"] == best["processes"])
    best["fraction_of_floor"] = round(best["model_steps_per_s"] / own_floor["model_steps_per_s"], 3)
    return best, mixed_row, floors


def conv_rows(device: torch.device, args: argparse.Namespace, pipeline: dict[str, tuple[str, CifarConfig]]
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(paper-size rows, pipeline rows): Conv-2 and ResNet-20 at each ``--conv-members``, and every net of
    ``pipeline`` (``pipeline_configs``) as the pipeline trains it."""
    iterations = args.conv_iterations or (200 if device.type == "cuda" else 20)
    paper = [{"net": arch, "members": k, "model_steps_per_s": round(conv_rate(device, arch, k, iterations), 2)}
             for arch in ("conv2", "resnet20") for k in args.conv_members]
    rows = [{"net": net, "variant": variant, "profile": args.pipeline_profile,
             **pipeline_conv_rate(device, config, iterations)} for net, (variant, config) in pipeline.items()]
    return paper, rows


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement of the bench on the current device, as the JSON object ``--json`` prints."""
    device = pick_device()
    numerics = configure_numerics(device)       # as every stage does: cuDNN autotuning on CUDA
    # The params are read first: a mistake there stops the bench before any measurement.
    pipeline = pipeline_configs(args.pipeline_profile, args.pipeline_nets)
    generator = torch.Generator().manual_seed(0)
    data = Split(torch.randn(args.lenet_examples, 784, generator=generator).to(device),
                 torch.randint(0, 10, (args.lenet_examples,), generator=generator).to(device))
    gemm = sgemm_gflops(device, args.sgemm_size)
    plain_runs = [plain_loop_rate(device, data, args.plain_iterations)]
    rows = lenet_rows(device, data, args, gemm)
    plain_runs.append(plain_loop_rate(device, data, args.plain_iterations))
    best, mixed_row, floors = best_rows(device, data, args, rows, gemm)
    paper_conv, pipeline_conv = conv_rows(device, args, pipeline)
    # The plain loop's rate varies from run to run on a shared VM (bench/README.md), so it is measured at the
    # start, after the LeNet rows and at the end, and the fastest run counts: the conservative choice for the
    # ratios.
    plain_runs.append(plain_loop_rate(device, data, args.plain_iterations))
    plain = max(plain_runs)
    for row in rows + [mixed_row] + floors:
        row["x_plain"] = round(row["model_steps_per_s"] / plain, 2)
    return {"device": device_description(device), "threads": torch.get_num_threads(), "numerics": numerics,
            "sgemm_gflops": round(gemm, 1), "plain_loop_model_steps_per_s": round(plain, 1),
            "plain_loop_runs": [round(r, 1) for r in plain_runs],
            "lenet_step_mflop": round(STEP_FLOP / 1e6, 1), "population": rows, "best": best,
            "floor": floors[0], "floors": floors, "bfloat16_autocast": mixed_row,
            "conv": paper_conv, "pipeline_conv": pipeline_conv}


def print_report(report: dict[str, Any]) -> None:
    """The measurements as a table: each rate as a multiple of the plain loop and a share of sgemm."""
    plain, best, mixed_row = report["plain_loop_model_steps_per_s"], report["best"], report["bfloat16_autocast"]
    print(f"device {report['device']}; sgemm {report['sgemm_gflops']:.0f} GFLOP/s; LeNet step "
          f"{report['lenet_step_mflop']:.1f} MFLOP")
    if report["numerics"]:
        print("numerics: " + ", ".join(f"{key} {value}" for key, value in report["numerics"].items()))
    print(f"plain per-model loop (nn.Module + DataLoader): {plain:.0f} model-steps/s (the fastest of three runs: "
          f"{', '.join(f'{r:.0f}' for r in report['plain_loop_runs'])})")
    for r in report["population"]:
        where = "1 process  " if r["processes"] == 1 else f"{r['processes']} processes"
        print(f"population K={r['members']:>4} {where} {'shared' if r['shared_order'] else 'own   '} order: "
              f"{r['model_steps_per_s']:>8.0f} model-steps/s  {r['x_plain']:>5.2f}x plain  "
              f"{100 * r['fraction_of_sgemm']:>5.1f}% of sgemm")
    print(f"best: K={best['members']} in {best['processes']} process(es) ({best['x_plain']:.2f}x plain, "
          f"{100 * best['fraction_of_sgemm']:.0f}% of sgemm, {100 * best['fraction_of_floor']:.0f}% of its "
          "ceiling below)")
    for row in report["floors"]:
        where = (f"K={row['members']} in one process" if row["processes"] == 1 else
                 f"{row['processes']} processes of K={row['members']}, one thread each")
        print(f"ceiling, {where}, shared order: matrix products alone {row['products_ms']:.2f} ms + Adam alone "
              f"{row['adam_ms']:.2f} ms per step -> at most {row['model_steps_per_s']:.0f} model-steps/s "
              f"({row['x_plain']:.2f}x plain, {100 * row['fraction_of_sgemm']:.0f}% of sgemm)")
    print(f"same K with bfloat16 autocast (mnist.mixed_precision; not the plain loop's float32 arithmetic): "
          f"{mixed_row['model_steps_per_s']:.0f} model-steps/s ({mixed_row['x_plain']:.2f}x plain)")
    for r in report["conv"]:
        print(f"{r['net']:>8} (paper size) K={r['members']}: {r['model_steps_per_s']:.2f} model-steps/s")
    for r in report["pipeline_conv"]:
        groups = "all at once" if r["chunk"] >= r["members"] else f"{r['chunk']} at a time"
        print(f"{r['net']:>8} as the {r['profile']} pipeline trains it (width {r['width']:g}, batch {r['batch_size']}, "
              f"{r['optimizer']}{', augmented' if r['augment'] else ''}; K={r['members']}, {groups}): "
              f"{r['model_steps_per_s']:.2f} model-steps/s" + (
                  f", {100 * r['fraction_of_ceiling']:.0f}% of its ceiling ({r['ceiling']['kernels_ms']:.2f} ms "
                  f"convolutions, pools and products + {r['ceiling']['adam_ms']:.2f} ms Adam alone = at most "
                  f"{r['ceiling']['model_steps_per_s']:.0f})" if "ceiling" in r else ""))


def main(argv: list[str] | None = None) -> None:
    """Measure, then print the table (or, with --json, one JSON object)."""
    args = parse_args(argv)
    report = measure(args)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print_report(report)


if __name__ == "__main__":
    main()
