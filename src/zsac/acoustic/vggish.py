"""The VGGish network (Hershey et al. 2017) as the paper trains it from scratch.

VGG configuration A with the changes of paper Section III-B: a 1x96x64 log-mel input,
the fifth convolution group dropped, and a final 128-wide fully connected layer whose
output is the acoustic embedding theta(x). A linear classification head over the
training classes sits on top of the embedding for training only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from .. import __version__
from .._atomic import atomic_path, write_json_atomic
from ..audio import EXAMPLE_FRAMES, FRONTEND_PARAMS, NUM_MEL_BANDS
from ..errors import CheckpointError, ConfigError

__all__ = ["VGGish", "save_vggish", "load_vggish", "WEIGHTS_FILE", "CONFIG_FILE"]

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"

DEFAULT_CONV_CHANNELS = (64, 128, 256, 512)


class VGGish(nn.Module):
    """VGGish: conv3-64, pool; conv3-128, pool; 2x conv3-256, pool; 2x conv3-512, pool;
    FC-4096, FC-4096, FC-128 (the embedding); optional linear head.

    With the defaults it has 72.1M parameters without the head.

    Parameters
    ----------
    n_classes : int
        Width of the classification head used for training; 0 builds no head.
    embedding_size : int
        Width of the embedding layer (128 in VGGish and the paper).
    fc_units : int
        Width of the two hidden fully connected layers (4096 in VGG).
    conv_channels : sequence of 4 ints
        Channels of the four convolution groups (64, 128, 256, 512 in VGG).
        Smaller values give a cheap network for tests; they are not the paper's model.
    dropout : float
        Dropout after each hidden fully connected layer. VGGish uses none (the default).
    """

    def __init__(
        self,
        *,
        n_classes: int = 0,
        embedding_size: int = 128,
        fc_units: int = 4096,
        conv_channels: Sequence[int] = DEFAULT_CONV_CHANNELS,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        conv_channels = tuple(int(c) for c in conv_channels)
        if len(conv_channels) != 4 or min(conv_channels) < 1:
            raise ConfigError(f"conv_channels must be 4 positive ints, got {conv_channels}")
        if n_classes < 0 or embedding_size < 1 or fc_units < 1 or not 0.0 <= dropout < 1.0:
            raise ConfigError(
                f"invalid VGGish sizes: n_classes={n_classes}, embedding_size={embedding_size}, "
                f"fc_units={fc_units}, dropout={dropout}"
            )
        self.n_classes = n_classes
        self.embedding_size = embedding_size
        self.fc_units = fc_units
        self.conv_channels = conv_channels
        self.dropout = dropout

        c1, c2, c3, c4 = conv_channels
        self.features = nn.Sequential(
            _conv(1, c1), nn.MaxPool2d(2),
            _conv(c1, c2), nn.MaxPool2d(2),
            _conv(c2, c3), _conv(c3, c3), nn.MaxPool2d(2),
            _conv(c3, c4), _conv(c4, c4), nn.MaxPool2d(2),
        )  # fmt: skip
        # Four 2x2 pools take 96x64 to 6x4.
        flat = c4 * (EXAMPLE_FRAMES // 16) * (NUM_MEL_BANDS // 16)
        hidden: list[nn.Module] = [nn.Flatten(), nn.Linear(flat, fc_units), nn.ReLU(inplace=True)]
        if dropout:
            hidden.append(nn.Dropout(dropout))
        hidden += [nn.Linear(fc_units, fc_units), nn.ReLU(inplace=True)]
        if dropout:
            hidden.append(nn.Dropout(dropout))
        self.hidden = nn.Sequential(*hidden)
        self.embedding = nn.Linear(fc_units, embedding_size)
        self.classifier = nn.Linear(embedding_size, n_classes) if n_classes else None
        self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's VGG initialisation: He-normal convolutions, small normal FC weights.
        # PyTorch's default (Kaiming-uniform with a=sqrt(5)) trains a deep VGG without
        # batch norm noticeably slower from scratch.
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
                nn.init.zeros_(module.bias)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments; ``VGGish(**model.config)`` rebuilds the architecture."""
        return {
            "n_classes": self.n_classes,
            "embedding_size": self.embedding_size,
            "fc_units": self.fc_units,
            "conv_channels": list(self.conv_channels),
            "dropout": self.dropout,
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
        return self.embedding(self.hidden(self.features(examples)))

    def forward(self, examples: torch.Tensor) -> torch.Tensor:
        """Class logits [batch, n_classes] of log-mel examples [batch, (1,) 96, 64]."""
        if self.classifier is None:
            raise ConfigError("this VGGish has no classification head (n_classes=0); use .embed()")
        return self.classifier(self.embed(examples))


def _conv(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU(inplace=True))


def save_vggish(model: VGGish, directory: str | os.PathLike[str], *, metadata: dict[str, Any] | None = None) -> Path:
    """Save weights as safetensors and the architecture as JSON, each written atomically.

    Writes ``directory/model.safetensors`` and ``directory/config.json``; ``metadata``
    (for example the training class names) is stored in the JSON.
    """
    directory = Path(directory)
    state = {name: tensor.detach().to("cpu").contiguous() for name, tensor in model.state_dict().items()}
    with atomic_path(directory / WEIGHTS_FILE) as tmp:
        save_file(state, tmp, metadata={"format": "pt", "zsac_version": __version__})
    config = {
        "architecture": "vggish",
        "model": model.config,
        "frontend": FRONTEND_PARAMS,
        "zsac_version": __version__,
        "metadata": metadata or {},
    }
    write_json_atomic(directory / CONFIG_FILE, config)
    return directory


def load_vggish(
    directory: str | os.PathLike[str], *, device: str | torch.device = "cpu"
) -> tuple[VGGish, dict[str, Any]]:
    """Load a model written by :func:`save_vggish` (strictly: every weight must match).

    Returns
    -------
    model : VGGish
        In eval mode, on ``device``.
    metadata : dict
        What was passed to :func:`save_vggish`.
    """
    directory = Path(directory)
    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        model = VGGish(**config["model"])
    except FileNotFoundError as exc:
        raise CheckpointError(f"no VGGish config at {config_path}") from exc
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise CheckpointError(f"malformed VGGish config {config_path}: {exc}") from exc
    try:
        state = load_file(weights_path, device=str(device))
    except (FileNotFoundError, SafetensorError, OSError) as exc:
        raise CheckpointError(f"cannot read VGGish weights {weights_path}: {exc}") from exc
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"weights in {weights_path} do not fit the config in {config_path}: {exc}") from exc
    return model.to(device).eval(), config.get("metadata", {})
