"""Datasets: listing clips and their classes. Downloading is kept apart from loading."""

from .esc50 import ESC50_COLUMNS, esc50_clips, read_esc50_metadata
from .folder import folder_clips
from .types import Clip

__all__ = ["Clip", "ESC50_COLUMNS", "read_esc50_metadata", "esc50_clips", "folder_clips"]
