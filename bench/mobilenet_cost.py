"""What each acoustic network costs on a CPU: parameters, multiply-adds and fp32 embedding throughput.

VGGish at the README's CPU widths (conv 8 16 32 64 ... 64 128 256 512, fc 128) and at full size,
and MobileNet (YAMNet's) at widths 0.125, 0.25, 0.5 and 1.0, which ``VGGishConfig`` pairs with
those same ``conv_channels`` (width = first width / 64). Throughput is ``model.embed`` in fp32
under ``torch.inference_mode`` on random log-mel-shaped batches, best of ``--repeats`` timed runs
after a warm-up, with ``torch.set_num_threads(--threads)``, in two memory formats: NCHW (torch's
default) and channels_last for both the network and its input (oneDNN's preferred layout, which
speeds up depthwise convolutions in particular). The rows run interleaved (one pass
over all networks per repeat), so a neighbour's load on a shared machine hits them alike; the
ratios to the VGGish at the same widths are the figures to read, the absolute rates indicative.

With ``--train`` it times training steps instead (forward, backward and an AdamW step on an
8-class head, in training mode); ``--recipe zsac`` gives VGGish batch norm, as that recipe does.

Usage: python bench/mobilenet_cost.py [--threads 2] [--batch 64] [--batches 4] [--repeats 3]
       [--recipe paper|zsac] [--train]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time

import torch
from torch import nn

from zsac.acoustic.config import VGGishConfig
from zsac.acoustic.networks import build_network

WIDTHS = ((8, 16, 32, 64), (16, 32, 64, 128), (32, 64, 128, 256), (64, 128, 256, 512))


def networks(recipe: str, n_classes: int) -> list[tuple[str, VGGishConfig, nn.Module]]:
    """(name, its settings, the network) per row, built as training builds them (model_options)."""
    configs = [VGGishConfig(conv_channels=channels, fc_units=128, recipe=recipe) for channels in WIDTHS]
    configs.append(VGGishConfig(recipe=recipe))
    configs += [VGGishConfig(conv_channels=channels, backbone="mobilenet", recipe=recipe) for channels in WIDTHS]
    rows = []
    for config in configs:
        options = config.model_options()
        if options.get("architecture") == "mobilenet":
            name = f"MobileNet width {options['width']:g}"
        elif config.fc_units == 128:
            name = f"VGGish {' '.join(map(str, config.conv_channels))}, fc 128"
        else:
            name = "VGGish full (64 128 256 512, fc 4096)"
        if options.get("batch_norm"):
            name += ", batch norm"
        rows.append((name, config, build_network({**options, "n_classes": n_classes})))
    return rows


def embed_step(model: nn.Module, examples: torch.Tensor, labels: torch.Tensor) -> None:
    with torch.inference_mode():
        model.embed(examples)


def training_step(model: nn.Module, examples: torch.Tensor, labels: torch.Tensor) -> None:
    """Forward, backward and an AdamW step, in training mode (the optimiser made on first use)."""
    optimizer = getattr(model, "_bench_optimizer", None)
    if optimizer is None:
        optimizer = model._bench_optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    optimizer.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(model(examples), labels).backward()
    optimizer.step()


def multiply_adds(model: nn.Module) -> int:
    """Multiply-adds of one segment's embedding (convolutions and linear layers), counted by forward hooks."""
    total = 0

    def count(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            total += output[0].numel() * per_output
        elif isinstance(module, nn.Linear):
            total += module.in_features * module.out_features

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.inference_mode():
        model.embed(torch.zeros(1, 96, 64))
    for hook in hooks:
        hook.remove()
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batches", type=int, default=4, help="batches per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per network; the best is kept")
    parser.add_argument("--recipe", default="paper", help="VGGish's batch norm: off (paper) or on (zsac)")
    parser.add_argument("--train", action="store_true", help="time training steps (AdamW, 8 classes), not embed")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    examples = torch.log(torch.randn(args.batch, 96, 64).abs() + 0.01)
    labels = torch.randint(0, 8, (args.batch,))

    rows = networks(args.recipe, n_classes=8)
    step = training_step if args.train else embed_step
    formats = {"nchw": torch.contiguous_format, "channels_last": torch.channels_last}
    inputs = {key: examples.unsqueeze(1).contiguous(memory_format=layout) for key, layout in formats.items()}
    best = {(name, key): float("inf") for name, _, _ in rows for key in formats}
    for repeat in range(args.repeats + 1):  # pass 0 warms up (oneDNN picks its kernels) and is not kept
        for name, _, model in rows:
            model.train(args.train)
            for key, layout in formats.items():
                model.to(memory_format=layout)
                started = time.perf_counter()
                for _ in range(args.batches):
                    step(model, inputs[key], labels)
                if repeat:
                    best[name, key] = min(best[name, key], time.perf_counter() - started)
    rate = {row: args.batch * args.batches / seconds for row, seconds in best.items()}
    print(f"`python {' '.join(shlex.quote(a) for a in sys.argv)}`\n")
    print(
        f"{platform.machine()} CPU ({platform.processor() or 'unknown'}), torch {torch.__version__}, "
        f"{args.threads} threads, os.cpu_count()={os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at the end; "
        f"batch {args.batch}, best of {args.repeats} runs of {args.batches} batches, fp32 "
        f"{'training steps (forward, backward, AdamW; 8 classes)' if args.train else 'embed'}\n"
    )
    full = next(name for name, _, _ in rows if name.startswith("VGGish full"))
    print(
        "| network | parameters (no head) | multiply-adds / segment | segments/s NCHW | segments/s channels_last "
        "| vs VGGish of the same conv widths, fc 128 (NCHW / channels_last) | vs VGGish full (NCHW / channels_last) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, config, model in rows:
        # VGGishConfig pairs each MobileNet width with VGGish's conv_channels: compare the two.
        same = next(n for n, c, _ in rows if c.conv_channels == config.conv_channels and c.backbone is None)
        nchw, last = rate[name, "nchw"], rate[name, "channels_last"]
        head = sum(p.numel() for p in model.classifier.parameters())
        same_nchw, same_last = nchw / rate[same, "nchw"], last / rate[same, "channels_last"]
        full_nchw, full_last = nchw / rate[full, "nchw"], last / rate[full, "channels_last"]
        print(
            f"| {name} | {sum(p.numel() for p in model.parameters()) - head:,} | {multiply_adds(model) / 1e6:,.1f} M | "
            f"{nchw:,.0f} | {last:,.0f} | {same_nchw:.2f}x / {same_last:.2f}x | {full_nchw:.1f}x / {full_last:.1f}x |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
