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
from ..checkpoint import ACOUSTIC_ARCHITECTURES
from ..errors import ConfigError

__all__ = [
    "VGGishConfig",
    "SPLIT_UNITS",
    "RECIPES",
    "CLASSIFIER_RECIPE",
    "BACKBONES",
    "RECIPE_FIELDS",
    "recipe_values",
    "VGGISH_CONV_CHANNELS",
    "VGGISH_FC_UNITS",
    "MAX_CONV_CHANNELS",
    "MAX_UNITS",
    "MAX_VGGISH_PARAMETERS",
    "vggish_parameter_count",
    "check_vggish_size",
    "MOBILENET_STEM",
    "MOBILENET_BLOCKS",
    "MOBILENET_MIN_CHANNELS",
    "MAX_MOBILENET_WIDTH",
    "mobilenet_width",
    "mobilenet_channels",
    "mobilenet_parameter_count",
    "check_mobilenet_size",
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
EXAMPLE_FRAMES_AT_MOST, MEL_BANDS_AT_MOST = 96, 64

#: Units of the stratified validation split: the paper splits ESC-50's segments and AudioSet's clips.
SPLIT_UNITS = ("segment", "clip")

#: Training recipes. ``paper`` is Sections III-B and V-B2 exactly: what ``zsac reproduce`` uses.
#: ``zsac`` adds what makes a small network train reliably on a few hundred clips (issue 16's
#: ablation in RESULTS.md measured each lever): batch norm, SpecAugment, random gain and time
#: shift, AdamW with warm-up and cosine decay, label smoothing, a floor on the epochs and a
#: batch size that leaves enough steps an epoch.
RECIPES = ("paper", "zsac")
#: The recipe of a user's classifier (ZeroShotClassifier, zsac train): the one that works on a
#: few hundred clips. VGGishConfig's own default stays the paper's, which zsac reproduce keeps.
CLASSIFIER_RECIPE = "zsac"
#: Acoustic networks by name: the paper's VGGish, or a MobileNet-v1 like YAMNet's (depthwise
#: separable convolutions, batch norm), which costs far fewer operations per segment on a CPU.
BACKBONES = ACOUSTIC_ARCHITECTURES  # their home is the folder format, the layer below
OPTIMIZERS = ("adam", "adamw")
LR_SCHEDULES = ("constant", "cosine")

#: The value of each recipe-dependent setting under each recipe; a field left at None takes its
#: recipe's value (see :meth:`VGGishConfig.resolved`). The paper's column turns every lever off.
_RECIPE_TABLE: dict[str, dict[str, Any]] = {
    "paper": {
        "backbone": "vggish",
        "batch_norm": False,
        "time_mask": 0,
        "freq_mask": 0,
        "mixup": 0.0,
        "gain_db": 0.0,
        "time_shift": 0,
        "optimizer": "adam",
        "weight_decay": 0.0,
        "warmup_epochs": 0,
        "lr_schedule": "constant",
        "label_smoothing": 0.0,
        "min_epochs": 0,
        "learning_rate": 1e-4,  # the paper's Adam step
        "batch_size": 64,
    },
    "zsac": {
        "backbone": "vggish",
        "batch_norm": True,  # +0.06 validation accuracy on ESC-10 (each lever's figure: RESULTS.md, issue 16)
        # SpecAugment, one time mask of up to 1/6 of a segment and one frequency mask of up to 1/8
        # of the bands: the standard choice; no gain measurable on 16 ESC-10 clips a class.
        "time_mask": 16,
        "freq_mask": 8,
        "mixup": 0.0,  # cost 0.11 validation accuracy on 16 ESC-10 clips a class
        # Recordings differ in level, and sounds start anywhere in a segment: +0.06 together.
        "gain_db": 6.0,
        "time_shift": 48,
        # AdamW with warm-up (norms' statistics and Adam's moments settle before the full step)
        # and cosine decay: the standard choice; no gain measurable on 16 ESC-10 clips a class.
        "optimizer": "adamw",
        "weight_decay": 0.05,
        "warmup_epochs": 2,
        "lr_schedule": "cosine",
        "label_smoothing": 0.1,  # +0.08 validation accuracy
        "min_epochs": 10,  # a stop at epoch 7 left models at chance (issue 16); no effect on the runs measured
        "learning_rate": None,  # suited to the width: see recipe_learning_rate
        "batch_size": None,  # by the data: see recipe_batch_size
    },
}
RECIPE_FIELDS = tuple(_RECIPE_TABLE["paper"])


def recipe_learning_rate(conv_channels: tuple[int, ...]) -> float:
    """The ``zsac`` recipe's AdamW step for a network of these convolution widths.

    3e-3 at the README's CPU widths (8, 16, 32, 64), falling with the square root of the
    width (1.06e-3 at VGGish's 64, 128, 256, 512): wider layers sum more terms, so one step
    moves their outputs more, and batch norm keeps the rest of the dependence small.
    """
    return 3e-3 * math.sqrt(8 / conv_channels[0])


#: Fewest optimiser steps per epoch that the ``zsac`` recipe's batch size leaves.
MIN_STEPS_PER_EPOCH = 16


def recipe_batch_size(n_training_segments: int) -> int:
    """The ``zsac`` recipe's batch size: 64 when that leaves :data:`MIN_STEPS_PER_EPOCH` steps an epoch, else 32.

    With 16 clips per class of 8 ESC-10 classes (512 training segments), batches of 64 left 8
    steps an epoch and validation accuracy still rising at epoch 30: 32 gave 0.80 against 0.76.
    With 32 clips per class (1024 segments) the two were equal (0.876 and 0.870), and 64 takes
    about half the time an epoch (RESULTS.md, issue 16).
    """
    return 64 if n_training_segments >= MIN_STEPS_PER_EPOCH * 64 else 32


def recipe_values(recipe: str, *, conv_channels: tuple[int, ...] = VGGISH_CONV_CHANNELS) -> dict[str, Any]:
    """Every recipe-dependent setting's value under ``recipe`` (``learning_rate`` for these widths)."""
    if recipe not in RECIPES:
        raise ConfigError(f"recipe must be one of {list(RECIPES)}, got {recipe!r}")
    values = dict(_RECIPE_TABLE[recipe])
    if values["learning_rate"] is None:
        values["learning_rate"] = recipe_learning_rate(tuple(conv_channels))
    return values


def parse_switch(text: str) -> bool:
    """``on``/``off`` (also yes/no, true/false, 1/0) from the command line."""
    word = text.strip().lower()
    if word in ("on", "yes", "true", "1"):
        return True
    if word in ("off", "no", "false", "0"):
        return False
    raise ConfigError(f"expected on or off, got {text!r}")


def _whole(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


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


# --------------------------------------------------------------------------- MobileNet

#: YAMNet's MobileNet-v1 (Plakal & Ellis 2020, after Howard et al. 2017) at width 1: a 3x3
#: convolution of stride 2 to 32 channels, then 13 depthwise-separable blocks, each given as
#: (stride of its 3x3 depthwise convolution, channels of its 1x1 pointwise convolution). Five
#: strides of 2 take 96x64 to 3x2 before the global average pool.
MOBILENET_STEM = 32
MOBILENET_BLOCKS = (
    (1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512),
    (1, 512), (1, 512), (1, 512), (1, 512), (1, 512), (2, 1024), (1, 1024),
)  # fmt: skip
#: No layer is narrower than this at small widths, as in TF-slim's MobileNet (``min_depth``):
#: a 4-channel stem is too narrow to learn anything.
MOBILENET_MIN_CHANNELS = 8
#: The widest layer (1024 x width) obeys VGGish's bound on a convolution, :data:`MAX_CONV_CHANNELS`.
MAX_MOBILENET_WIDTH = MAX_CONV_CHANNELS / MOBILENET_BLOCKS[-1][1]


def mobilenet_width(conv_channels: tuple[int, ...]) -> float:
    """The MobileNet width that ``conv_channels`` sets: its first width over VGGish's 64.

    So one setting sizes either backbone: VGGish's widths (64, 128, 256, 512) give YAMNet's
    width 1.0, and the README's CPU widths (8, 16, 32, 64) give 0.125.
    """
    return conv_channels[0] / VGGISH_CONV_CHANNELS[0]


def mobilenet_channels(width: float) -> tuple[int, ...]:
    """Output channels of the stem and of each block's pointwise convolution at ``width``."""
    return tuple(
        max(MOBILENET_MIN_CHANNELS, int(channels * width))
        for channels in (MOBILENET_STEM, *(out for _, out in MOBILENET_BLOCKS))
    )


def mobilenet_parameter_count(*, width: float, embedding_size: int = 128, n_classes: int = 0) -> int:
    """Weights and biases of a :class:`~zsac.acoustic.mobilenet.MobileNet` (batch-norm scales and shifts included)."""
    channels = mobilenet_channels(width)
    count = 9 * channels[0] + 2 * channels[0]  # stem convolution (no bias: batch norm follows) and its norm
    for c_in, c_out in zip(channels[:-1], channels[1:], strict=True):
        count += 9 * c_in + 2 * c_in  # depthwise 3x3 and its norm
        count += c_in * c_out + 2 * c_out  # pointwise 1x1 and its norm
    count += channels[-1] * embedding_size + embedding_size
    if n_classes:
        count += embedding_size * n_classes + n_classes
    return count


def check_mobilenet_size(
    *, width: Any, embedding_size: Any = 128, n_classes: Any = 0, owner: str = "MobileNet"
) -> None:
    """Raise ConfigError, naming the value, unless MobileNet's sizes are numbers within bounds.

    Checks types too (a model folder's config.json is untrusted: ``"1.0"`` or ``true`` is no width):
    ``width`` a finite number in (0, :data:`MAX_MOBILENET_WIDTH`], ``embedding_size`` a whole number
    in [1, :data:`MAX_UNITS`], ``n_classes`` one in [0, :data:`MAX_UNITS`], and the whole network at
    most :data:`MAX_VGGISH_PARAMETERS`. Call before allocating.
    """
    if not (_real(width) and 0 < width <= MAX_MOBILENET_WIDTH):
        raise ConfigError(f"{owner}: width must be a number in (0, {MAX_MOBILENET_WIDTH:g}], got {width!r}")
    for name, value, low in (("embedding_size", embedding_size, 1), ("n_classes", n_classes, 0)):
        if not (_whole(value) and low <= value <= MAX_UNITS):
            raise ConfigError(f"{owner}: {name} must be a whole number in [{low}, {MAX_UNITS}], got {value!r}")
    count = mobilenet_parameter_count(width=width, embedding_size=embedding_size, n_classes=n_classes)
    if count > MAX_VGGISH_PARAMETERS:
        raise ConfigError(
            f"{owner}: width={width}, embedding_size={embedding_size}, n_classes={n_classes} make {count:,} "
            f"parameters ({count * 4 / 2**30:.1f} GiB); the limit is {MAX_VGGISH_PARAMETERS:,} "
            "(2 GiB of float32 weights)"
        )


@dataclasses.dataclass(frozen=True)
class VGGishConfig:
    """How VGGish is trained from scratch on the training classes.

    ``VGGishConfig(max_epochs=30)`` changes one setting; ``dataclasses.replace(config, ...)``
    another. Invalid values raise :class:`~zsac.ConfigError` at construction.
    """

    # Smaller widths give a network that trains on a CPU in seconds, which is not the paper's model.
    # They size MobileNet too (see mobilenet_width): one setting, so the README's CPU widths and the
    # width-suited learning rate serve both backbones.
    conv_channels: tuple[int, ...] = setting(
        VGGISH_CONV_CHANNELS,
        "VGGish convolution widths, one per group (VGGish's); MobileNet's width is the first over 64",
        parse=int, nargs=4, metavar="C",
    )  # fmt: skip
    fc_units: int = setting(VGGISH_FC_UNITS, "VGGish fully connected width (VGGish's; MobileNet has none)", parse=int)
    # Early stopping ends training long before 100 epochs on ESC-50-sized data.
    max_epochs: int = setting(100, "VGGish: most epochs", parse=int)
    patience: int = setting(5, "VGGish: epochs without a validation gain before stopping", parse=int)
    batch_size: int | None = setting(
        None, "VGGish batch size (default: the recipe's: 64, the paper's, or zsac's 32 or 64 by the data)", parse=int
    )
    recipe: str = setting(
        "paper", "acoustic training recipe: paper (Section III-B) or zsac (see README)", choices=RECIPES
    )
    # Each setting below left at None takes the recipe's value (RECIPE_TABLE above).
    learning_rate: float | None = setting(
        None, "VGGish learning rate (default: the recipe's: the paper's 1e-4, or suited to the width)", parse=float,
        aliases=("--lr",),
    )  # fmt: skip
    backbone: str | None = setting(
        None, "acoustic network: vggish, or mobilenet, YAMNet's (default: the recipe's: vggish)", choices=BACKBONES
    )
    batch_norm: bool | None = setting(
        None,
        "batch norm after each convolution: on or off (default: the recipe's)",
        parse=parse_switch,
        metavar="on|off",
    )
    time_mask: int | None = setting(
        None, "SpecAugment: widest time mask in frames, 0 for none (default: the recipe's)", parse=int
    )
    freq_mask: int | None = setting(
        None, "SpecAugment: widest frequency mask in mel bands, 0 for none (default: the recipe's)", parse=int
    )
    mixup: float | None = setting(
        None, "mixup: alpha of its Beta(alpha, alpha) draw, 0 for none (default: the recipe's)", parse=float
    )
    gain_db: float | None = setting(
        None, "random gain of each training segment, up to ± this many dB (default: the recipe's)", parse=float
    )
    time_shift: int | None = setting(
        None, "random circular time shift of each training segment, in frames (default: the recipe's)", parse=int
    )
    optimizer: str | None = setting(None, "adam (the paper's) or adamw (default: the recipe's)", choices=OPTIMIZERS)
    weight_decay: float | None = setting(
        None, "AdamW weight decay (not on biases and norms) (default: the recipe's)", parse=float
    )
    warmup_epochs: int | None = setting(
        None, "epochs of linear learning-rate warm-up (default: the recipe's)", parse=int
    )
    lr_schedule: str | None = setting(
        None, "learning rate after warm-up: constant or cosine decay (default: the recipe's)", choices=LR_SCHEDULES
    )
    label_smoothing: float | None = setting(
        None, "label smoothing of the cross-entropy (default: the recipe's)", parse=float
    )
    min_epochs: int | None = setting(None, "epochs before early stopping may stop (default: the recipe's)", parse=int)
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
            if name == "batch_size" and value is None:  # the recipe's
                continue
            if not _whole(value) or value < 1:
                raise ConfigError(f"VGGishConfig: {name} must be a whole number >= 1, got {value!r}")
        check_vggish_size(conv_channels=self.conv_channels, fc_units=self.fc_units, owner="VGGishConfig")
        self._check_recipe_fields()
        if (self.backbone or _RECIPE_TABLE[self.recipe]["backbone"]) == "mobilenet":
            self._check_mobilenet()
        if not (isinstance(self.validation_fraction, (int, float)) and 0 < self.validation_fraction < 1):
            raise ConfigError(f"VGGishConfig: validation_fraction must lie in (0, 1), got {self.validation_fraction!r}")
        if self.split_unit not in SPLIT_UNITS:
            raise ConfigError(f"VGGishConfig: split_unit must be one of {list(SPLIT_UNITS)}, got {self.split_unit!r}")

    def _check_recipe_fields(self) -> None:
        def fail(name: str, wanted: str) -> None:
            raise ConfigError(
                f"VGGishConfig: {name} must be {wanted} (or None: the recipe's), got {getattr(self, name)!r}"
            )

        if self.recipe not in RECIPES:
            raise ConfigError(f"VGGishConfig: recipe must be one of {list(RECIPES)}, got {self.recipe!r}")
        for name, choices in (("backbone", BACKBONES), ("optimizer", OPTIMIZERS), ("lr_schedule", LR_SCHEDULES)):
            if getattr(self, name) is not None and getattr(self, name) not in choices:
                fail(name, f"one of {list(choices)}")
        if self.batch_norm is not None and not isinstance(self.batch_norm, bool):
            fail("batch_norm", "True or False")
        limits = {
            "time_mask": EXAMPLE_FRAMES_AT_MOST,
            "freq_mask": MEL_BANDS_AT_MOST,
            "time_shift": EXAMPLE_FRAMES_AT_MOST,
        }
        for name, most in limits.items():
            value = getattr(self, name)
            if value is not None and not (_whole(value) and 0 <= value <= most):
                fail(name, f"a whole number in [0, {most}]")
        for name in ("warmup_epochs", "min_epochs"):
            value = getattr(self, name)
            if value is not None and not (_whole(value) and value >= 0):
                fail(name, "a whole number >= 0")
        bounds = {"mixup": (0.0, math.inf), "gain_db": (0.0, 60.0), "weight_decay": (0.0, math.inf),
                  "label_smoothing": (0.0, 1.0)}  # fmt: skip
        for name, (low, high) in bounds.items():
            value = getattr(self, name)
            if value is not None and not (_real(value) and low <= value < high):
                fail(name, f"a number in [{low:g}, {high:g})")
        lr = self.learning_rate
        if lr is not None and not (_real(lr) and 0 < lr < math.inf):
            fail("learning_rate", "a positive number")

    def _check_mobilenet(self) -> None:
        # MobileNet takes one width from conv_channels; refuse what it would silently ignore.
        first = self.conv_channels[0]
        if self.conv_channels != (first, 2 * first, 4 * first, 8 * first):
            raise ConfigError(
                f"VGGishConfig: with backbone mobilenet, conv_channels sets one width and must double like VGGish's "
                f"(c, 2c, 4c, 8c; 8 16 32 64 is width 0.125), got {list(self.conv_channels)}"
            )
        check_mobilenet_size(width=mobilenet_width(self.conv_channels), owner="VGGishConfig (backbone mobilenet)")

    def resolved(self) -> VGGishConfig:
        """This config with every setting left at None replaced by its recipe's value."""
        values = recipe_values(self.recipe, conv_channels=self.conv_channels)
        return dataclasses.replace(
            self, **{name: values[name] for name in RECIPE_FIELDS if getattr(self, name) is None}
        )

    def levers(self) -> dict[str, Any]:
        """The resolved recipe-dependent settings that differ from the paper's recipe (empty for the paper's)."""
        resolved, paper = self.resolved(), recipe_values("paper")
        return {
            name: getattr(resolved, name)
            for name in RECIPE_FIELDS
            if name not in ("learning_rate", "batch_size") and getattr(resolved, name) != paper[name]
        }

    def model_options(self) -> dict[str, Any]:
        """The acoustic network's constructor arguments these settings fix.

        ``build_network({**config.model_options(), "n_classes": n})`` builds the network. VGGish's
        are its widths (and ``batch_norm`` when on), without an ``architecture`` key, as zsac 0.1
        stored them; MobileNet's are ``{"architecture": "mobilenet", "width": w}`` with ``w`` from
        :func:`mobilenet_width` (``fc_units`` and ``batch_norm`` are VGGish's: MobileNet has no hidden
        fully connected layer and always has batch norm, so the paper's recipe gives it one too).
        """
        resolved = self.resolved()
        if resolved.backbone == "mobilenet":
            return {"architecture": "mobilenet", "width": mobilenet_width(self.conv_channels)}
        options: dict[str, Any] = {"conv_channels": self.conv_channels, "fc_units": self.fc_units}
        if resolved.batch_norm:
            options["batch_norm"] = True
        return options

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (lists for tuples)."""
        return {**dataclasses.asdict(self), "conv_channels": list(self.conv_channels)}
