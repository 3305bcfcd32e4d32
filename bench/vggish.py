"""VGGish training and inference throughput (segments/s) on the CPU, and on CUDA when present.

Measures zsac's own code paths, data feeding included:
- ``train``: ``zsac.acoustic.train_vggish`` for one epoch on random log-mel examples
  resident on the device (segments/s over the training split);
- ``infer``: ``zsac.acoustic.embed_clips`` over the same examples.

On CUDA the training loop runs as zsac runs it there: bf16 autocast, channels_last,
torch.compile (the first epoch, which compiles, is excluded: two epochs are run and
the second is timed). On the CPU it runs in fp32 with channels_last.

Usage: python bench/vggish.py [--segments N] [--batch-size B] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shlex
import sys
import time

import numpy as np
import torch

from zsac.acoustic import VGGish, embed_clips, train_vggish


def examples_and_labels(n_segments: int, n_classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    clips = [rng.standard_normal((5, 96, 64), dtype=np.float32) for _ in range(n_segments // 5)]
    return clips, [f"class_{i % n_classes}" for i in range(len(clips))]


def bench_training(device: str, n_segments: int, batch_size: int, epochs: int, **options) -> tuple[float, float]:
    """(segments/s over the whole epoch incl. validation, training segments/s) of the last epoch."""
    clips, labels = examples_and_labels(n_segments, n_classes=10)
    result = train_vggish(clips, labels, batch_size=batch_size, max_epochs=epochs, patience=epochs,
                          device=device, progress=False, **options)  # fmt: skip
    n_train = int((~result.validation_mask).sum())
    # Epoch time includes the validation pass; count it too (forward only, but fed the same way).
    n_val = int(result.validation_mask.sum())
    seconds = result.history[-1]["seconds"]
    return (n_train + n_val) / seconds, n_train / seconds


def bench_inference(device: str, n_segments: int, batch_size: int, channels_last: bool) -> float:
    clips, _ = examples_and_labels(n_segments, n_classes=10)
    model = VGGish().to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    embed_clips(model, clips[:2], batch_size=batch_size, device=device)  # warm-up
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    embed_clips(model, clips, batch_size=batch_size, device=device)
    if device == "cuda":
        torch.cuda.synchronize()
    return len(clips) * 5 / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--segments", type=int, default=None, help="segments per run (default: 640 CPU, 60000 CUDA)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 64 CPU, 1024 CUDA")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    cuda = args.device.startswith("cuda")
    n_segments = args.segments or (60_000 if cuda else 640)
    batch = args.batch_size or (1024 if cuda else 64)

    rows = []
    if cuda:
        rows.append(("train", "fp32, no compile", *bench_training(args.device, n_segments, batch, 2,
                     precision="fp32", compile=False, channels_last=False)))  # fmt: skip
        rows.append(("train", "bf16 + channels_last + compile", *bench_training(args.device, n_segments, batch, 2)))
    else:
        rows.append(("train", "fp32", *bench_training(args.device, n_segments, batch, 1, channels_last=False)))
        rows.append(("train", "fp32 + channels_last", *bench_training(args.device, n_segments, batch, 1)))
    for channels_last in (False, True):
        label = "fp32" + (" + channels_last" if channels_last else "") + (" (bf16 autocast)" if cuda else "")
        rate = bench_inference(args.device, n_segments, batch, channels_last)
        rows.append(("infer", label, rate, rate))

    device_name = (
        torch.cuda.get_device_name() if cuda else f"{platform.machine()} CPU, {torch.get_num_threads()} threads"
    )
    print(f"`python {' '.join(shlex.quote(a) for a in sys.argv)}`")
    print(f"\ndevice: {device_name}; torch {torch.__version__}; {n_segments} segments, batch {batch}; "
          f"os.cpu_count()={os.cpu_count()}\n")  # fmt: skip
    print("| task | path | segments/s (epoch incl. validation) | training segments/s |")
    print("|---|---|---:|---:|")
    for task, path, overall, training in rows:
        print(f"| {task} | {path} | {overall:,.0f} | {training:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
