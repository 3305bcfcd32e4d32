"""The VGGish network (Hershey et al. 2017) as the paper trains it from scratch.

VGG configuration A with the changes of paper Section III-B: a 1x96x64 log-mel input,
the fifth convolution group dropped, and a final 128-wide fully connected layer whose
output is the acoustic embedding theta(x). A linear classification head over the
training classes sits on top of the embedding for training only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..audio import EXAMPLE_FRAMES, NUM_MEL_BANDS
from ..checkpoint import (
    VGGISH_WEIGHTS_FILE,
    model_version,
    read_vggish_description,
    read_vggish_weights,
    write_vggish_folder,
)
from ..errors import CheckpointError, ConfigError
from .config import VGGISH_CONV_CHANNELS, VGGISH_FC_UNITS, check_vggish_size
from .networks import ARCHITECTURE_KEY, build_network

__all__ = ["VGGish", "save_vggish", "load_vggish", "vggish_from_weights"]


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
    batch_norm : bool
        Batch norm between each convolution and its ReLU (the ``zsac`` recipe's; VGGish has none).
    """

    def __init__(
        self,
        *,
        n_classes: int = 0,
        embedding_size: int = 128,
        fc_units: int = VGGISH_FC_UNITS,
        conv_channels: Sequence[int] = VGGISH_CONV_CHANNELS,
        dropout: float = 0.0,
        batch_norm: bool = False,
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
        if not isinstance(batch_norm, bool):  # config.json is untrusted: "no" must not read as True
            raise ConfigError(f"batch_norm must be true or false, got {batch_norm!r}")
        # Before any weight is allocated: a model folder's config.json may name absurd widths.
        check_vggish_size(
            conv_channels=conv_channels, fc_units=fc_units, embedding_size=embedding_size, n_classes=n_classes
        )
        self.n_classes = n_classes
        self.embedding_size = embedding_size
        self.fc_units = fc_units
        self.conv_channels = conv_channels
        self.dropout = dropout
        self.batch_norm = bool(batch_norm)

        c1, c2, c3, c4 = conv_channels
        bn = self.batch_norm
        self.features = nn.Sequential(
            _conv(1, c1, bn), nn.MaxPool2d(2),
            _conv(c1, c2, bn), nn.MaxPool2d(2),
            _conv(c2, c3, bn), _conv(c3, c3, bn), nn.MaxPool2d(2),
            _conv(c3, c4, bn), _conv(c4, c4, bn), nn.MaxPool2d(2),
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
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
                nn.init.zeros_(module.bias)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments; ``VGGish(**model.config)`` rebuilds the architecture."""
        config = {
            "n_classes": self.n_classes,
            "embedding_size": self.embedding_size,
            "fc_units": self.fc_units,
            "conv_channels": list(self.conv_channels),
            "dropout": self.dropout,
        }
        if self.batch_norm:  # absent otherwise, so that folders of VGGish without it read as before
            config["batch_norm"] = True
        return config

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


def _conv(in_channels: int, out_channels: int, batch_norm: bool = False) -> nn.Sequential:
    if batch_norm:  # the norm's shift replaces the convolution's bias
        return nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU(inplace=True))


def save_vggish(model: nn.Module, directory: str | os.PathLike[str], *, metadata: dict[str, Any] | None = None) -> Path:
    """Save weights as safetensors and the architecture as JSON; the folder is replaced whole.

    ``model`` is a VGGish or any network :func:`~zsac.acoustic.networks.build_network` makes
    from its ``config`` (a :class:`~zsac.acoustic.mobilenet.MobileNet`).

    Writes ``directory/model.safetensors`` and ``directory/config.json``; ``metadata``
    (for example the training class names) is stored in the JSON.
    """
    weights = {name: tensor.detach().to("cpu").contiguous().numpy() for name, tensor in model.state_dict().items()}
    return write_vggish_folder(directory, model_config=model.config, weights=weights, metadata=metadata)


def vggish_from_weights(
    model_config: dict[str, Any],
    weights: dict[str, np.ndarray],
    *,
    device: str | torch.device = "cpu",
    source: str | os.PathLike[str] = "the weights",
) -> nn.Module:
    """The network of ``model_config`` (a VGGish, or the ``architecture`` it names) holding ``weights``,
    in eval mode on ``device``.

    Strict: every weight must be there with its shape; ``source`` names the file in errors.
    """
    try:
        model = build_network(model_config)
    except (TypeError, ConfigError) as exc:
        raise CheckpointError(
            f"{source}: the {_name(model_config)} architecture {model_config} is invalid: {exc}"
        ) from exc
    try:
        model.load_state_dict({name: torch.from_numpy(array) for name, array in weights.items()}, strict=True)
    except (RuntimeError, TypeError) as exc:
        reason = " ".join(str(exc).split())  # torch's message spans lines, one per weight; errors are one line
        raise CheckpointError(
            f"{source} does not fit the {_name(model_config)} architecture {model_config}: {reason}"
        ) from exc
    return model.to(device).eval()


def load_vggish(
    directory: str | os.PathLike[str], *, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Load a model written by :func:`save_vggish` (strictly: every weight must match).

    Returns
    -------
    model : nn.Module
        The folder's network (a VGGish, or the MobileNet its config names), in eval mode, on ``device``.
    metadata : dict
        What was passed to :func:`save_vggish`.
    """
    directory = model_version(directory)  # one version for the description and the weights
    description = read_vggish_description(directory)
    weights = read_vggish_weights(directory)
    model = vggish_from_weights(
        description["model"], weights, device=device, source=Path(directory) / VGGISH_WEIGHTS_FILE
    )
    return model, description.get("metadata", {})


def _name(model_config: Any) -> str:
    """The network that a (maybe hostile) config names, for messages: ``VGGish`` unless it names another."""
    name = model_config.get(ARCHITECTURE_KEY, "vggish") if isinstance(model_config, dict) else "vggish"
    return "VGGish" if name == "vggish" else repr(name)[:40]
