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

Usage: python bench/mobilenet_cost.py [--threads 2] [--batch 64] [--batches 4] [--repeats 3]
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


def networks() -> list[tuple[str, str, nn.Module]]:
    """(name, its settings, the network) per row, built as training builds them (model_options)."""
    rows = []
    for channels in WIDTHS:
        vggish = VGGishConfig(conv_channels=channels, fc_units=128)
        rows.append((f"VGGish {' '.join(map(str, channels))}, fc 128", vggish, build_network(vggish.model_options())))
    full = VGGishConfig()
    rows.append(("VGGish full (64 128 256 512, fc 4096)", full, build_network(full.model_options())))
    for channels in WIDTHS:
        mobile = VGGishConfig(conv_channels=channels, backbone="mobilenet")
        width = mobile.model_options()["width"]
        rows.append((f"MobileNet width {width:g}", mobile, build_network(mobile.model_options())))
    return [(name, config, model.eval()) for name, config, model in rows]


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
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    examples = torch.log(torch.randn(args.batch, 96, 64).abs() + 0.01)

    rows = networks()
    formats = {"nchw": torch.contiguous_format, "channels_last": torch.channels_last}
    inputs = {key: examples.unsqueeze(1).contiguous(memory_format=layout) for key, layout in formats.items()}
    best = {(name, key): float("inf") for name, _, _ in rows for key in formats}
    with torch.inference_mode():
        for repeat in range(args.repeats + 1):  # pass 0 warms up (oneDNN picks its kernels) and is not kept
            for name, _, model in rows:
                for key, layout in formats.items():
                    model.to(memory_format=layout)
                    started = time.perf_counter()
                    for _ in range(args.batches):
                        model.embed(inputs[key])
                    if repeat:
                        best[name, key] = min(best[name, key], time.perf_counter() - started)
    rate = {row: args.batch * args.batches / seconds for row, seconds in best.items()}
    print(f"`python {' '.join(shlex.quote(a) for a in sys.argv)}`\n")
    print(
        f"{platform.machine()} CPU ({platform.processor() or 'unknown'}), torch {torch.__version__}, "
        f"{args.threads} threads, os.cpu_count()={os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at the end; "
        f"batch {args.batch}, best of {args.repeats} runs of {args.batches} batches, fp32 embed\n"
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
        same_nchw, same_last = nchw / rate[same, "nchw"], last / rate[same, "channels_last"]
        full_nchw, full_last = nchw / rate[full, "nchw"], last / rate[full, "channels_last"]
        print(
            f"| {name} | {sum(p.numel() for p in model.parameters()):,} | {multiply_adds(model) / 1e6:,.1f} M | "
            f"{nchw:,.0f} | {last:,.0f} | {same_nchw:.2f}x / {same_last:.2f}x | {full_nchw:.1f}x / {full_last:.1f}x |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
