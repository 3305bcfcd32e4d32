"""Writing small AudioSet-style TFRecord files (tf.train.SequenceExample) for the tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from tfrecord.writer import TFRecordWriter


@dataclasses.dataclass
class Record:
    """One clip as stored in the release; ``frames`` is uint8 [n_frames, 128] or raw bytes per frame."""

    video_id: str
    start: float
    end: float
    labels: tuple[int, ...]
    frames: np.ndarray | list[bytes]


def random_record(rng: np.random.Generator, video_id: str, *, n_frames: int = 10, labels=(0,)) -> Record:
    start = float(rng.integers(0, 300))
    frames = rng.integers(0, 256, size=(n_frames, 128), dtype=np.uint8)
    return Record(video_id, start, start + 10.0, tuple(labels), frames)


def write_tfrecord(path: str | Path, records: list[Record]) -> Path:
    """Write ``records`` as SequenceExamples in TFRecord framing (length, masked crc32c, data, masked crc32c)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = TFRecordWriter(str(path))
    try:
        for record in records:
            frames = record.frames
            strings = (
                [bytes(row) for row in np.asarray(frames, dtype=np.uint8)] if isinstance(frames, np.ndarray) else frames
            )
            writer.write(
                {
                    "video_id": (record.video_id.encode(), "byte"),
                    "start_time_seconds": (record.start, "float"),
                    "end_time_seconds": (record.end, "float"),
                    "labels": (list(record.labels), "int"),
                },
                {"audio_embedding": (list(strings), "byte")},
            )
    finally:
        writer.close()
    return path


def write_release(root: str | Path, splits: dict[str, list[list[Record]]]) -> Path:
    """Write ``root/audioset_v1_embeddings/<split>/<k>.tfrecord`` (one file per list of records)."""
    folder = Path(root) / "audioset_v1_embeddings"
    for split, files in splits.items():
        for k, records in enumerate(files):
            write_tfrecord(folder / split / f"{chr(ord('A') + k)}{k}.tfrecord", records)
    return folder
