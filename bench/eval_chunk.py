"""How fast one member of Conv-2/4/6 evaluates, by chunk size: the validation pass every ``eval_every`` iterations
and the test accuracies at early stop, as a worker of the `cifar_conv` stages runs them (one member, one thread,
large allocations kept on the heap, the nets at the `quick` width): whether ``eval_chunk`` in
``lth/core/convnets.py`` (250) is worth changing (bench/README.md has the numbers).

    python bench/eval_chunk.py                      # 2,500 images, chunks 250 / 125 / 100 / 50, best of 6
    python bench/eval_chunk.py --images 200 --repeat 1 --chunks 100 50   # seconds (tests/test_bench.py)
    python bench/eval_chunk.py --chunks 250 --torch-kernels   # also with torch's pooling kernel

``--torch-kernels`` times each chunk size a second time, in turns, with torch's pooling kernel, as the nets pooled
in evaluations before session 27 (it also records argmax indices; ``convnets.max_pool_2x2`` takes that path
wherever gradients are enabled; ReLU has been in place in both since session 30) and says whether the results are
the same bits.

Each row also says whether the mean loss and the accuracy are bit-identical to the first chunk size's: the loss is
summed chunk by chunk, so its rounding may depend on the chunking; the accuracy (a count) may not.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lth.core import cpu_fastpath  # noqa: E402
from lth.core.convnets import PopulationConvNet, make_convnet  # noqa: E402
from lth.core.engine import Split, evaluate  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nets", nargs="+", default=["conv2", "conv4", "conv6"], help="nets to time")
    parser.add_argument("--width", type=float, default=0.125, help="width factor (the `quick` profile's: 0.125)")
    parser.add_argument("--images", type=int, default=2500, help="images evaluated (quick's validation_examples)")
    parser.add_argument("--chunks", type=int, nargs="+", default=[250, 125, 100, 50], help="chunk sizes to time")
    parser.add_argument("--repeat", type=int, default=6, help="timed passes per chunk size (the best counts)")
    parser.add_argument("--torch-kernels", action="store_true",
                        help="also time the evaluation with torch's pooling kernel (the path with gradients)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    return parser.parse_args(argv)


def time_chunks(net: str, width: float, images: Split, chunks: list[int], repeat: int,
                torch_kernels: bool = False) -> list[dict]:
    """Per chunk size: best and median seconds of one member's evaluation of ``images``, and whether its loss and
    accuracy equal those at ``chunks[0]`` bit for bit; with ``torch_kernels`` the same with torch's pooling kernel
    and out-of-place ReLU, and whether those give the same bits. Everything timed takes turns, so drifts hit all
    alike."""
    model = make_convnet(net, width)
    params = model.init_params([0])
    variants = [(chunk, kernels) for chunk in chunks for kernels in ([False, True] if torch_kernels else [False])]
    seconds: dict[tuple[int, bool], list[float]] = {variant: [] for variant in variants}
    outputs = {}
    for _ in range(repeat):
        for chunk, kernels in variants:
            timed = _Chunked(model, chunk, kernels)
            start = time.perf_counter()
            outputs[chunk, kernels] = evaluate(timed, params, images)
            seconds[chunk, kernels].append(time.perf_counter() - start)
    first = outputs[chunks[0], False]
    rows = []
    for chunk in chunks:
        loss, accuracy = outputs[chunk, False]
        row = {"chunk": chunk, **_timing(seconds[chunk, False]), "same_loss": torch.equal(loss, first[0]),
               "same_accuracy": torch.equal(accuracy, first[1])}
        if torch_kernels:
            ours, theirs = outputs[chunk, False], outputs[chunk, True]
            row["torch_kernels"] = {**_timing(seconds[chunk, True]),
                                    "same_bits": torch.equal(ours[0], theirs[0]) and torch.equal(ours[1], theirs[1])}
        rows.append(row)
    return rows


def _timing(times: list[float]) -> dict[str, float]:
    """Best and median of ``times`` (seconds) in milliseconds."""
    return {"best_ms": round(1e3 * min(times), 1), "median_ms": round(1e3 * sorted(times)[len(times) // 2], 1)}


class _Chunked:
    """A model evaluated in chunks of ``eval_chunk`` images (the forward pass is the wrapped model's), with torch's
    pooling kernel if ``torch_kernels`` (gradients enabled; the parameters need none)."""

    def __init__(self, model: PopulationConvNet, chunk: int, torch_kernels: bool = False):
        self.model, self.eval_chunk, self.torch_kernels = model, chunk, torch_kernels

    def forward(self, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad() if self.torch_kernels else contextlib.nullcontext():
            return self.model.forward(params, x)


def main(argv: list[str] | None = None) -> None:
    """Time the evaluation of every net at every chunk size, single-threaded, and print the table."""
    args = parse_args(argv)
    torch.set_num_threads(1)
    cpu_fastpath.keep_large_allocations_on_heap()          # as in a training worker
    generator = torch.Generator().manual_seed(0)
    pixels = torch.randn(args.images, 3, 32, 32, generator=generator)
    images = Split(pixels.contiguous(memory_format=torch.channels_last),         # held as the stages hold CIFAR-10
                   torch.randint(0, 10, (args.images,), generator=generator))
    report = {net: time_chunks(net, args.width, images, args.chunks, args.repeat, args.torch_kernels)
              for net in args.nets}
    if args.json:
        print(json.dumps({"width": args.width, "images": args.images, "nets": report}))
        return
    print(f"one member, one thread, width {args.width}, {args.images} images: best / median ms per evaluation")
    for net, rows in report.items():
        cells = [f"{r['chunk']}: {r['best_ms']:.0f} / {r['median_ms']:.0f}"
                 f"{'' if r['same_loss'] else ' (loss bits differ)'}" + _torch_cell(r) for r in rows]
        print(f"{net:6s} " + " | ".join(cells))



def _torch_cell(row: dict) -> str:
    """The table's words for a row's timing with torch's kernels (nothing if not timed)."""
    theirs = row.get("torch_kernels")
    if theirs is None:
        return ""
    return (f" (torch's kernels {theirs['best_ms']:.0f} / {theirs['median_ms']:.0f}"
            f"{', same bits' if theirs['same_bits'] else ', BITS DIFFER'})")


if __name__ == "__main__":
    main()
