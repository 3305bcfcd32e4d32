"""VGGish training settings: one home for each default, its allowed values and its help.

:class:`VGGishConfig` is the paper's recipe (Sections III-B, V-B2): Adam at 1e-4, batches
of 64, at most 100 epochs with early stopping after 5 without a validation gain, and a
seeded class-stratified 80/20 split of segments. AudioSet's recipe differs only in its
75/25 split of clips (``zsac.reproduce.audioset.AUDIOSET_VGGISH``). Everything that
trains VGGish (:func:`~zsac.acoustic.train_vggish`, :class:`~zsac.ZeroShotClassifier`,
``zsac reproduce`` and the ``zsac train`` / ``train-acoustic`` commands) takes its
defaults from here.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

from .._settings import setting
from ..errors import ConfigError

__all__ = [
    "VGGishConfig",
    "SPLIT_UNITS",
    "VGGISH_CONV_CHANNELS",
    "VGGISH_FC_UNITS",
    "MAX_CONV_CHANNELS",
    "MAX_UNITS",
    "MAX_VGGISH_PARAMETERS",
    "vggish_parameter_count",
    "check_vggish_size",
]

#: VGG configuration A's widths, as VGGish has them (Hershey et al. 2017).
VGGISH_CONV_CHANNELS = (64, 128, 256, 512)
VGGISH_FC_UNITS = 4096
#: Bounds on VGGish's sizes, checked before any weight is allocated, so that an absurd width in
#: an option or in a model folder's config.json is refused at once instead of allocating
#: gigabytes first. A convolution width is bounded by its activations: the first layer holds
#: width × 96 × 64 float32 values per example, 24 KB per channel, so 2048 channels (4× VGGish's
#: widest) take 3.2 GB for a batch of 64. Fully connected and embedding widths are bounded at 65536,
#: and the whole network at 2**29 parameters, 2 GiB of float32 weights (VGGish has 72 M, 0.29 GB);
#: training with Adam holds four such copies (weights, gradients, two moments), 8 GiB.
MAX_CONV_CHANNELS = 2048
MAX_UNITS = 65536
MAX_VGGISH_PARAMETERS = 2**29
#: 96 × 64 log-mel frames after four 2×2 pools (zsac.audio's EXAMPLE_FRAMES, NUM_MEL_BANDS; not imported
#: here, since this module is loaded at command-line start-up).
_POOLED_CELLS = (96 // 16) * (64 // 16)

#: Units of the stratified validation split: the paper splits ESC-50's segments and AudioSet's clips.
SPLIT_UNITS = ("segment", "clip")


def _whole(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def vggish_parameter_count(
    *, conv_channels: tuple[int, ...], fc_units: int, embedding_size: int = 128, n_classes: int = 0
) -> int:
    """Weights and biases of a :class:`~zsac.acoustic.VGGish` of these sizes (Python ints: no overflow)."""
    c1, c2, c3, c4 = (int(c) for c in conv_channels)
    pairs = [(1, c1), (c1, c2), (c2, c3), (c3, c3), (c3, c4), (c4, c4)]
    conv = sum(9 * a * b + b for a, b in pairs)
    dense = [(c4 * _POOLED_CELLS, fc_units), (fc_units, fc_units), (fc_units, embedding_size)]
    if n_classes:
        dense.append((embedding_size, n_classes))
    return conv + sum(a * b + b for a, b in dense)


def check_vggish_size(
    *, conv_channels: tuple[int, ...], fc_units: int, embedding_size: int = 128, n_classes: int = 0,
    owner: str = "VGGish",
) -> None:  # fmt: skip
    """Raise ConfigError when VGGish's sizes pass :data:`MAX_CONV_CHANNELS`, :data:`MAX_UNITS` or
    :data:`MAX_VGGISH_PARAMETERS`; call before allocating (sizes must already be positive ints)."""
    wide = [c for c in conv_channels if c > MAX_CONV_CHANNELS]
    if wide:
        raise ConfigError(f"{owner}: conv_channels must be at most {MAX_CONV_CHANNELS} each, got {list(conv_channels)}")
    for name, value in (("fc_units", fc_units), ("embedding_size", embedding_size), ("n_classes", n_classes)):
        if value > MAX_UNITS:
            raise ConfigError(f"{owner}: {name} must be at most {MAX_UNITS}, got {value}")
    count = vggish_parameter_count(
        conv_channels=conv_channels, fc_units=fc_units, embedding_size=embedding_size, n_classes=n_classes
    )
    if count > MAX_VGGISH_PARAMETERS:
        raise ConfigError(
            f"{owner}: conv_channels={list(conv_channels)}, fc_units={fc_units} make {count:,} parameters "
            f"({count * 4 / 2**30:.1f} GiB); the limit is {MAX_VGGISH_PARAMETERS:,} (2 GiB of float32 weights)"
        )


@dataclasses.dataclass(frozen=True)
class VGGishConfig:
    """How VGGish is trained from scratch on the training classes.

    ``VGGishConfig(max_epochs=30)`` changes one setting; ``dataclasses.replace(config, ...)``
    another. Invalid values raise :class:`~zsac.ConfigError` at construction.
    """

    # Smaller widths give a network that trains on a CPU in seconds, which is not the paper's model.
    conv_channels: tuple[int, ...] = setting(
        VGGISH_CONV_CHANNELS, "VGGish convolution widths, one per group (VGGish's)", parse=int, nargs=4, metavar="C"
    )
    fc_units: int = setting(VGGISH_FC_UNITS, "VGGish fully connected width (VGGish's)", parse=int)
    # Early stopping ends training long before 100 epochs on ESC-50-sized data.
    max_epochs: int = setting(100, "VGGish: most epochs", parse=int)
    patience: int = setting(5, "VGGish: epochs without a validation gain before stopping", parse=int)
    batch_size: int = setting(64, "VGGish batch size", parse=int)
    learning_rate: float = setting(1e-4, "VGGish Adam learning rate (the paper's)", parse=float, aliases=("--lr",))
    validation_fraction: float = setting(
        0.2, "VGGish: validation share of each class", parse=float, aliases=("--val-fraction",)
    )
    split_unit: str = setting(
        "segment",
        "unit of VGGish's stratified validation split: segment (the paper's ESC-50) or clip (its AudioSet)",
        choices=SPLIT_UNITS,
    )

    def __post_init__(self) -> None:
        # Accept any sequence (a list from JSON or the command line); store a tuple so the config stays hashable.
        channels = self.conv_channels
        if isinstance(channels, (str, bytes)) or not hasattr(channels, "__iter__"):
            raise ConfigError(f"VGGishConfig: conv_channels must be 4 positive ints, got {channels!r}")
        channels = tuple(channels)
        if len(channels) != 4 or not all(_whole(c) and c >= 1 for c in channels):
            raise ConfigError(f"VGGishConfig: conv_channels must be 4 positive ints, got {channels!r}")
        object.__setattr__(self, "conv_channels", tuple(int(c) for c in channels))
        for name in ("fc_units", "max_epochs", "patience", "batch_size"):
            value = getattr(self, name)
            if not _whole(value) or value < 1:
                raise ConfigError(f"VGGishConfig: {name} must be a whole number >= 1, got {value!r}")
        check_vggish_size(conv_channels=self.conv_channels, fc_units=self.fc_units, owner="VGGishConfig")
        if not (isinstance(self.learning_rate, (int, float)) and 0 < self.learning_rate < math.inf):
            raise ConfigError(f"VGGishConfig: learning_rate must be a positive number, got {self.learning_rate!r}")
        if not (isinstance(self.validation_fraction, (int, float)) and 0 < self.validation_fraction < 1):
            raise ConfigError(f"VGGishConfig: validation_fraction must lie in (0, 1), got {self.validation_fraction!r}")
        if self.split_unit not in SPLIT_UNITS:
            raise ConfigError(f"VGGishConfig: split_unit must be one of {list(SPLIT_UNITS)}, got {self.split_unit!r}")

    def model_options(self) -> dict[str, Any]:
        """The :class:`~zsac.acoustic.VGGish` constructor arguments these settings fix."""
        return {"conv_channels": self.conv_channels, "fc_units": self.fc_units}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (lists for tuples)."""
        return {**dataclasses.asdict(self), "conv_channels": list(self.conv_channels)}
