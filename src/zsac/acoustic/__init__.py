"""Acoustic side: the VGGish and MobileNet networks, their training, clip embeddings and the inference encoder.

Public names load on first use (see :mod:`zsac`), so ``import zsac.acoustic`` loads no torch.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=[
        "config",
        "embedding",
        "encoder",
        "int8_session",
        "mobilenet",
        "networks",
        "onnx_int8",
        "pooling",
        "training",
        "vggish",
    ],
    submod_attrs={
        "config": ["VGGishConfig", "SPLIT_UNITS"],
        "embedding": ["embed_clips", "segment_embeddings"],
        "pooling": ["POOLING_STATISTICS", "clip_means", "clip_statistics", "window_means"],
        "encoder": ["AcousticEncoder", "INFERENCE_MODES"],
        "training": ["VGGishTrainingResult", "augment", "load_trained_vggish", "stratified_split", "train_vggish"],
        "vggish": ["VGGish", "load_vggish", "save_vggish", "vggish_from_weights"],
        "mobilenet": ["MobileNet"],
        "networks": ["build_network"],
    },
)
