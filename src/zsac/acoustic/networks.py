"""The acoustic networks by name: one constructor for every place that builds one from a config.

A model folder's ``config.json`` names its network under ``architecture`` (absent: VGGish,
as zsac 0.1 wrote it), so training, loading and the int8 export share :func:`build_network`:
``vggish`` (:class:`~zsac.acoustic.vggish.VGGish`) or ``mobilenet``
(:class:`~zsac.acoustic.mobilenet.MobileNet`).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ..errors import ConfigError
from .config import BACKBONES

__all__ = ["ARCHITECTURE_KEY", "NETWORKS", "build_network"]

ARCHITECTURE_KEY = "architecture"
#: The networks by name (``VGGishConfig.backbone``'s choices): VGGish and YAMNet's MobileNet-v1.
NETWORKS = BACKBONES


def build_network(model_config: dict[str, Any]) -> nn.Module:
    """The network that ``model_config`` describes (``{"architecture": name, **constructor arguments}``).

    Raises
    ------
    ConfigError
        For an unknown architecture or invalid arguments (``TypeError`` for unknown ones).
    """
    options = dict(model_config)
    name = options.pop(ARCHITECTURE_KEY, "vggish")
    if name == "vggish":
        from .vggish import VGGish

        return VGGish(**options)
    if name == "mobilenet":
        from .mobilenet import MobileNet

        return MobileNet(**options)
    raise ConfigError(f"unknown acoustic network {name!r}; the networks are {list(NETWORKS)}")
