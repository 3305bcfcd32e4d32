"""A MobileNet-v1 like YAMNet's (Plakal & Ellis 2020): an acoustic network that is cheap on a CPU.

YAMNet is MobileNet-v1 (Howard et al. 2017) on 1x96x64 log-mel segments, the same input as
VGGish: a 3x3 convolution of stride 2, then 13 depthwise-separable blocks (a 3x3 depthwise
convolution and a 1x1 pointwise one, each followed by batch norm and a ReLU), and a global
average pool. Here a linear layer to ``embedding_size`` (128) follows the pool: its output is
the acoustic embedding theta(x), like VGGish's embedding layer, so either network serves the
zero-shot model unchanged. A linear classification head over the training classes sits on top
for training only.

A depthwise-separable block costs ``9·C_in + C_in·C_out`` multiply-adds per position where a
full 3x3 convolution costs ``9·C_in·C_out``: at width 1 the network has 3.3 M parameters and
69 M multiply-adds per segment, VGGish 72 M and 864 M; at width 0.125 (the README's CPU
widths) 74 k and 1.5 M, against 0.30 M and 13 M for VGGish at 8 16 32 64, fc 128
(``bench/mobilenet_cost.py``). Fewer operations are not proportionally faster on a CPU:
depthwise convolutions do little arithmetic per byte moved (see that bench's throughput).
The layer table and the size bounds live in :mod:`zsac.acoustic.config`, which loads no torch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from .config import MOBILENET_BLOCKS, check_mobilenet_size, mobilenet_channels

__all__ = ["MobileNet"]


class MobileNet(nn.Module):
    """YAMNet's MobileNet-v1: conv3 stride 2, 13 depthwise-separable blocks, global average pool,
    FC-128 (the embedding); optional linear head.

    At width 1.0 the channels are YAMNet's: 32, then 64, 128, 128, 256, 256, 512 (x6), 1024,
    1024 after the blocks, whose depthwise convolutions have strides 1, 2, 1, 2, 1, 2, 1 (x5),
    2, 1 (:data:`~zsac.acoustic.config.MOBILENET_BLOCKS`). With the defaults it has 3.3 M
    parameters without the head.

    Parameters
    ----------
    n_classes : int
        Width of the classification head used for training; 0 builds no head.
    embedding_size : int
        Width of the embedding layer (128, as VGGish's).
    width : float
        Multiplier of every layer's channels (MobileNet's width multiplier alpha; YAMNet's is
        1.0): ``max(8, int(channels * width))``, the floor of 8 as in TF-slim's MobileNet.
        At most :data:`~zsac.acoustic.config.MAX_MOBILENET_WIDTH` (2.0). Cost falls with about
        the square of the width; :class:`~zsac.acoustic.VGGishConfig` sets it from
        ``conv_channels`` (see :func:`~zsac.acoustic.config.mobilenet_width`).
    """

    def __init__(self, *, n_classes: int = 0, embedding_size: int = 128, width: float = 1.0) -> None:
        super().__init__()
        # Before any weight is allocated: a model folder's config.json may name absurd sizes or wrong types.
        check_mobilenet_size(width=width, embedding_size=embedding_size, n_classes=n_classes)
        self.n_classes = int(n_classes)
        self.embedding_size = int(embedding_size)
        self.width = float(width)

        channels = mobilenet_channels(self.width)
        blocks = [_stem(channels[0])]
        for (stride, _), c_in, c_out in zip(MOBILENET_BLOCKS, channels[:-1], channels[1:], strict=True):
            blocks.append(_separable(c_in, c_out, stride))
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)  # exports to ONNX as GlobalAveragePool, which int8 quantises
        self.embedding = nn.Linear(channels[-1], self.embedding_size)
        self.classifier = nn.Linear(self.embedding_size, self.n_classes) if self.n_classes else None
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                # He-normal over the fan-in, which torch computes right for a depthwise convolution
                # (9: one channel's 3x3 window). Over the fan-out (torchvision's choice) it would count
                # all C channels of a depthwise weight, so each block would shrink its output C-fold
                # until batch norm has statistics: a fresh network in eval mode (the int8 export's
                # calibration, a test) would embed everything near zero after 13 blocks.
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                # Small, as VGGish's: the first logits are near zero, so training starts from the
                # uniform guess (loss log(n_classes)) instead of from confident random answers.
                nn.init.normal_(module.weight, 0.0, 0.01)
                nn.init.zeros_(module.bias)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments and ``architecture``; ``build_network(model.config)`` rebuilds the network."""
        return {
            "architecture": "mobilenet",
            "n_classes": self.n_classes,
            "embedding_size": self.embedding_size,
            "width": self.width,
        }

    def embed(self, examples: torch.Tensor) -> torch.Tensor:
        """Acoustic embeddings of log-mel examples.

        Parameters
        ----------
        examples : torch.Tensor [shape=(batch, 96, 64) or (batch, 1, 96, 64)]

        Returns
        -------
        torch.Tensor [shape=(batch, embedding_size)]
        """
        if examples.dim() == 3:
            examples = examples.unsqueeze(1)
        return self.embedding(torch.flatten(self.pool(self.features(examples)), 1))

    def forward(self, examples: torch.Tensor) -> torch.Tensor:
        """Class logits [batch, n_classes] of log-mel examples [batch, (1,) 96, 64]."""
        if self.classifier is None:
            raise ConfigError("this MobileNet has no classification head (n_classes=0); use .embed()")
        return self.classifier(self.embed(examples))


def _conv_bn_relu(c_in: int, c_out: int, *, kernel: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    # No convolution bias: the batch norm's shift replaces it.
    return [
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


def _stem(channels: int) -> nn.Sequential:
    return nn.Sequential(*_conv_bn_relu(1, channels, kernel=3, stride=2))


def _separable(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    """3x3 depthwise convolution (one filter per channel, ``groups=c_in``), then a 1x1 pointwise one."""
    return nn.Sequential(
        *_conv_bn_relu(c_in, c_in, kernel=3, stride=stride, groups=c_in),
        *_conv_bn_relu(c_in, c_out, kernel=1),
    )
