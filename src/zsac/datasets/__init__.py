"""Datasets: where they live, listing clips and their classes, and fetching them.

Downloading (:mod:`.download`) is kept apart from loading: readers never touch the network.
"""

from .audioset import AudioSetEmbeddings, read_audioset_embeddings
from .download import ResumableHTTPDownloader, download_audioset_embeddings, download_esc50
from .esc50 import ESC50_COLUMNS, esc50_clips, read_esc50_metadata
from .folder import folder_clips
from .root import audioset_dir, data_root, esc50_dir
from .types import Clip

__all__ = [
    "Clip",
    "ESC50_COLUMNS",
    "read_esc50_metadata",
    "esc50_clips",
    "folder_clips",
    "data_root",
    "audioset_dir",
    "esc50_dir",
    "AudioSetEmbeddings",
    "read_audioset_embeddings",
    "ResumableHTTPDownloader",
    "download_esc50",
    "download_audioset_embeddings",
]
