"""Acoustic side: the VGGish network, its training from scratch, and clip embeddings."""

from .embedding import clip_means, embed_clips, segment_embeddings, window_means
from .training import VGGishTrainingResult, load_trained_vggish, stratified_split, train_vggish
from .vggish import VGGish, load_vggish, save_vggish

__all__ = [
    "VGGish",
    "save_vggish",
    "load_vggish",
    "train_vggish",
    "load_trained_vggish",
    "VGGishTrainingResult",
    "stratified_split",
    "embed_clips",
    "segment_embeddings",
    "clip_means",
    "window_means",
]
