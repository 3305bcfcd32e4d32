"""Running Hugging Face text models: the part of the BERT and sentence-transformers encoders that needs torch.

The encoders in :mod:`zsac.semantic.transformer` compute their cache identities without any
model; they reach this module through the package's lazy attribute only when a model must
run, so a text embedding found in the cache loads neither torch nor transformers (see :mod:`zsac`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import sentence_transformers
import torch
import transformers

from .._device import resolve_device

__all__ = ["load_bert", "bert_embeddings", "load_sentence_transformer", "sentence_embeddings"]


def load_bert(model: str, *, revision: str | None, device: str | None) -> tuple[Any, Any]:
    """A BERT-style tokenizer and model, in eval mode on ``device``; OSError/ValueError when it cannot be loaded."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(model, revision=revision)
    network = transformers.AutoModel.from_pretrained(model, revision=revision)
    network.eval().to(resolve_device(device))
    return tokenizer, network


def bert_embeddings(
    tokenizer: Any,
    network: Any,
    texts: Sequence[str],
    *,
    pool: Any,
    max_tokens: int,
    batch_size: int,
) -> np.ndarray:
    """``pool(output, attention_mask)`` of each text's token states [shape=(n_texts, hidden_size)], float32."""
    device = next(network.parameters()).device
    # Batches of similar length waste less compute on padding; results return in input order.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.empty((len(texts), network.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            tokens = tokenizer(
                [texts[i] for i in batch], padding=True, truncation=True, max_length=max_tokens, return_tensors="pt"
            ).to(device)
            output = network(**tokens, output_hidden_states=True)
            out[batch] = pool(output, tokens["attention_mask"]).float().cpu().numpy()
    return out


def masked_max(states: Any, mask: Any) -> Any:
    """The maximum over non-padding tokens [batch, tokens, hidden] -> [batch, hidden]."""
    return states.masked_fill(mask == 0, torch.finfo(states.dtype).min).amax(dim=1)


def load_sentence_transformer(model: str, *, revision: str | None, device: str | None, local: bool) -> Any:
    """A sentence-transformers model in eval mode; OSError/ValueError when it cannot be loaded."""
    network = sentence_transformers.SentenceTransformer(
        model, device=str(resolve_device(device)), revision=revision, local_files_only=local
    )
    return network.eval()


def sentence_embeddings(network: Any, texts: Sequence[str], *, batch_size: int) -> np.ndarray:
    """The model's sentence embedding of each text [shape=(n_texts, dim)], float32."""
    vectors = network.encode(list(texts), batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)
