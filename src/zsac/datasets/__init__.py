"""Datasets: where they live, listing clips and their classes, and fetching them.

Downloading (:mod:`.download`) is kept apart from loading: readers never touch the network.
Public names load on first use (see :mod:`zsac`).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["audioset", "download", "esc50", "folder", "root", "types"],
    submod_attrs={
        "audioset": ["AudioSetEmbeddings", "read_audioset_embeddings"],
        "download": ["ResumableHTTPDownloader", "download_audioset_embeddings", "download_esc50"],
        "esc50": ["ESC50_COLUMNS", "esc50_clips", "read_esc50_metadata"],
        "folder": ["folder_clips", "dataset_clips"],
        "root": ["audioset_dir", "data_root", "esc50_dir"],
        "types": ["Clip"],
    },
)
