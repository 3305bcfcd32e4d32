"""Fetching ESC-50 and AudioSet's embedding release from their official sources.

Downloads resume after an interruption (:class:`ResumableHTTPDownloader`), are checked
against a known checksum where one is published, and archives are unpacked into a
temporary folder beside the target that is renamed into place only once complete, so a
crash never leaves a half-extracted dataset under its final name. Nothing is fetched at
import time.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import pooch
import requests
from tqdm.auto import tqdm

from .._atomic import replace_directory
from ..errors import ConfigError, DataError
from .audioset import AUDIOSET_SPLITS
from .esc50 import esc50_clips
from .root import audioset_dir, esc50_dir

__all__ = [
    "ESC50_URL",
    "ESC50_KNOWN_HASH",
    "AUDIOSET_BASE_URL",
    "AUDIOSET_FEATURES_KNOWN_HASH",
    "AUDIOSET_ONTOLOGY_URL",
    "ResumableHTTPDownloader",
    "download_esc50",
    "download_audioset_embeddings",
]

logger = logging.getLogger(__name__)

#: The official ESC-50 archive (GitHub's archive of the repository's master branch).
ESC50_URL = "https://github.com/karoldvl/ESC-50/archive/master.zip"
#: md5 of ESC-50-master.zip as published by soundata (soundata/datasets/esc50.py, REMOTES["all"]),
#: the same value that HEAR's hear-eval-kit and PaddleAudio list for this archive. GitHub builds
#: branch archives on demand and does not promise identical bytes forever, so if upstream changes
#: the archive this check fails; pass ``known_hash=None`` to skip it (a warning is logged).
ESC50_KNOWN_HASH = "md5:7771e4b9d86d0945acce719c7a59305a"

#: Base URL of AudioSet v1 (``csv/`` and ``features/`` below it), from the AudioSet download page.
AUDIOSET_BASE_URL = "https://storage.googleapis.com/us_audioset/youtube_corpus/v1"
#: Google publishes no checksum for features.tar.gz (none found on the download page or in
#: public loaders), so the archive is unverified by default and a warning says so.
AUDIOSET_FEATURES_KNOWN_HASH: str | None = None
#: The AudioSet ontology (class descriptions), from its official GitHub repository.
AUDIOSET_ONTOLOGY_URL = "https://raw.githubusercontent.com/audioset/ontology/master/ontology.json"

_EMBEDDINGS_FOLDER = "audioset_v1_embeddings"
_SEGMENT_CSVS = {"bal_train": "balanced_train_segments.csv", "eval": "eval_segments.csv",
                 "unbal_train": "unbalanced_train_segments.csv"}  # fmt: skip


class ResumableHTTPDownloader:
    """A pooch downloader over HTTP(S) that resumes an interrupted download.

    Bytes go to a ``.part`` file; when it already exists the request asks for the rest with
    ``Range: bytes=<size>-``. A ``206 Partial Content`` reply is appended; a ``200`` (a server
    that ignores ranges) restarts from scratch. The finished ``.part`` is renamed onto the
    output file. Usable as ``pooch.retrieve(..., downloader=ResumableHTTPDownloader(...))``.

    Parameters
    ----------
    chunk_size : int, keyword-only
        Bytes read from the connection at a time.
    progressbar : bool, keyword-only
        Show a tqdm bar of the bytes received.
    timeout : float, keyword-only
        Seconds to wait for the server to connect or send more data.
    part_file : path or None, keyword-only
        Where to keep the partial download. By default ``<output_file>.part``. ``pooch.retrieve``
        hands the downloader a new random temporary name on every run, so a resumable download
        through it needs a stable name given here.
    """

    def __init__(
        self,
        *,
        chunk_size: int = 1 << 20,
        progressbar: bool = True,
        timeout: float = 60.0,
        part_file: str | os.PathLike[str] | None = None,
    ) -> None:
        if chunk_size < 1 or timeout <= 0:
            raise ConfigError(f"chunk_size must be >= 1 and timeout > 0, got {chunk_size} and {timeout}")
        self.chunk_size = int(chunk_size)
        self.progressbar = bool(progressbar)
        self.timeout = float(timeout)
        self.part_file = Path(part_file) if part_file is not None else None

    def __call__(self, url: str, output_file: Any, pooch: Any = None, check_only: bool = False) -> bool | None:
        """Download ``url`` to ``output_file`` (pooch's downloader protocol).

        Parameters
        ----------
        url : str
            The file to fetch.
        output_file : path or binary file object
            Destination. A file object gets a plain, non-resumable streamed download.
        pooch : pooch.Pooch or None
            The calling Pooch, unused.
        check_only : bool
            Only ask the server whether the file exists.

        Returns
        -------
        bool or None
            With ``check_only``, whether the server has the file; else None.
        """
        if check_only:
            response = requests.head(url, timeout=self.timeout, allow_redirects=True)
            return response.status_code == 200
        if hasattr(output_file, "write"):
            with requests.get(url, stream=True, timeout=self.timeout, headers=_IDENTITY) as response:
                response.raise_for_status()
                self._stream(response, output_file, url=url, initial=0)
            return None
        target = Path(output_file)
        part = self.part_file if self.part_file is not None else target.with_name(target.name + ".part")
        part.parent.mkdir(parents=True, exist_ok=True)
        self._download_to_part(url, part, allow_restart=True)
        os.replace(part, target)
        return None

    def _download_to_part(self, url: str, part: Path, *, allow_restart: bool) -> None:
        offset = part.stat().st_size if part.exists() else 0
        # identity: ranges count bytes of the file as stored, which a compressed transfer would not.
        headers = dict(_IDENTITY, **({"Range": f"bytes={offset}-"} if offset else {}))
        with requests.get(url, stream=True, timeout=self.timeout, headers=headers) as response:
            if offset and response.status_code == 416:
                # Nothing lies past offset: the part is complete, or longer than the file and stale.
                total = _content_range_total(response.headers.get("Content-Range", ""))
                if total == offset:
                    logger.info("%s: already complete in %s", url, part)
                    return
                restart = "stale partial download"
            elif response.status_code == 206:
                start = _content_range_start(response.headers.get("Content-Range", ""))
                restart = None if start == offset else f"server resumed at byte {start}, not {offset}"
            else:
                response.raise_for_status()
                if offset:
                    logger.info("%s: server does not resume downloads; starting again", url)
                offset, restart = 0, None
            if restart is not None:
                if not allow_restart:
                    raise DataError(f"cannot resume the download of {url} into {part}: {restart}")
                logger.info("%s: %s; starting again", url, restart)
                part.unlink()
            else:
                expected = _content_length(response)
                with open(part, "ab" if offset else "wb") as handle:
                    self._stream(response, handle, url=url, initial=offset)
                size = part.stat().st_size
                if expected is not None and size != offset + expected:
                    raise DataError(
                        f"download of {url} stopped at {size} of {offset + expected} bytes; "
                        f"run again to resume from {part}"
                    )
                return
        self._download_to_part(url, part, allow_restart=False)

    def _stream(self, response: Any, handle: Any, *, url: str, initial: int) -> None:
        length = _content_length(response)
        total = initial + length if length is not None else None
        name = url.rsplit("/", 1)[-1] or url
        with tqdm(
            total=total, initial=initial, unit="B", unit_scale=True, desc=name, disable=not self.progressbar
        ) as bar:
            for chunk in response.iter_content(chunk_size=self.chunk_size):
                if chunk:
                    handle.write(chunk)
                    bar.update(len(chunk))


_IDENTITY = {"Accept-Encoding": "identity"}


def _content_length(response: Any) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def _content_range_start(header: str) -> int | None:
    match = re.match(r"\s*bytes\s+(\d+)-\d+/(\d+|\*)", header)
    return int(match.group(1)) if match else None


def _content_range_total(header: str) -> int | None:
    match = re.search(r"/(\d+)\s*$", header)
    return int(match.group(1)) if match else None


def _fetch(url: str, dest: Path, *, known_hash: str | None, progress: bool) -> Path:
    """Download ``url`` to ``dest`` unless a copy (matching ``known_hash``) is already there.

    pooch decides whether to download (absent file, or one whose hash differs), runs our
    downloader into a temporary name in ``dest``'s folder, verifies ``known_hash`` and moves
    the file into place; a mismatch deletes the download. The downloader is given a stable
    ``.part`` path beside ``dest`` so that an interrupted run resumes instead of restarting.
    """
    downloader = ResumableHTTPDownloader(progressbar=progress, part_file=dest.with_name(dest.name + ".part"))
    try:
        fetched = pooch.retrieve(url, known_hash=known_hash, fname=dest.name, path=dest.parent, downloader=downloader)
    except ValueError as exc:
        # pooch raises ValueError when the hash does not match; it has deleted the download.
        raise DataError(f"{url} does not match its known checksum {known_hash}: {exc}") from exc
    except requests.exceptions.RequestException as exc:
        raise DataError(f"cannot download {url}: {exc}") from exc
    return Path(fetched)


def _check_member_name(name: str, archive: Path) -> PurePosixPath:
    """Refuse archive members that would land outside the extraction folder."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
        raise DataError(f"{archive} holds the unsafe member {name!r} (absolute or '..' path); refusing to extract it")
    return path


def _replace_dir(new: Path, target: Path) -> None:
    """Move the unpacked ``new`` onto ``target``, replacing an incomplete copy."""
    if target.exists():
        logger.warning("replacing the incomplete copy at %s", target)
    replace_directory(new, target)


def _esc50_complete(folder: Path) -> bool:
    try:
        return bool(esc50_clips(folder))
    except DataError:
        return False


def download_esc50(
    root: str | os.PathLike[str] | None = None,
    *,
    progress: bool = True,
    url: str = ESC50_URL,
    known_hash: str | None = ESC50_KNOWN_HASH,
    keep_archive: bool = False,
) -> Path:
    """Download and unpack ESC-50 in its official layout, unless a complete copy is there.

    Parameters
    ----------
    root : path or None
        Data root that gets ``ESC-50/`` (or an existing ESC-50 folder). None means
        :func:`~zsac.datasets.data_root`.
    progress : bool, keyword-only
        Show a download progress bar.
    url : str, keyword-only
        Where the archive is fetched from (a zip with one top folder holding ``meta/esc50.csv``).
    known_hash : str or None, keyword-only
        ``"<alg>:<hex>"`` checksum of the archive; None skips the check (with a warning).
    keep_archive : bool, keyword-only
        Keep ``ESC-50-master.zip`` beside the dataset after unpacking.

    Returns
    -------
    pathlib.Path
        The ESC-50 folder, with ``meta/esc50.csv`` and ``audio/``.

    Raises
    ------
    DataError
        The download failed or does not match ``known_hash`` (nothing is left under the final
        names), or the archive is not an ESC-50 release.
    """
    target = esc50_dir(root, must_exist=False)
    if _esc50_complete(target):
        logger.info("ESC-50 already complete at %s", target)
        return target
    if known_hash is None:
        logger.warning("downloading %s without a checksum: the archive is unverified", url)
    archive = _fetch(url, target.parent / "ESC-50-master.zip", known_hash=known_hash, progress=progress)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        with zipfile.ZipFile(archive) as handle:
            for name in handle.namelist():
                _check_member_name(name, archive)
            handle.extractall(scratch / "x")
        found = sorted(path.parent.parent for path in (scratch / "x").glob("*/meta/esc50.csv"))
        if len(found) != 1:
            raise DataError(
                f"{archive} is not an ESC-50 archive: expected one <top>/meta/esc50.csv, found {len(found)}"
            )
        esc50_clips(found[0])  # every listed audio file must be present before the copy goes live
        _replace_dir(found[0], target)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"cannot unpack the ESC-50 archive {archive}: {exc}") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not keep_archive:
        archive.unlink()
    logger.info("ESC-50 unpacked to %s", target)
    return target


_TAR_FILTER = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


def _extract_splits(archive: Path, embeddings_dir: Path, splits: Sequence[str]) -> None:
    """Unpack ``audioset_v1_embeddings/<split>/*`` of ``archive`` for ``splits`` into ``embeddings_dir``."""
    embeddings_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{embeddings_dir.name}.", suffix=".tmp", dir=embeddings_dir.parent))
    try:
        # One sequential pass ("r|gz") over the 2.4 GB archive; skipped members are never written.
        with tarfile.open(archive, "r|gz") as tar:
            for member in tar:
                parts = _check_member_name(member.name, archive).parts
                if member.isfile() and len(parts) == 3 and parts[0] == _EMBEDDINGS_FOLDER and parts[1] in splits:
                    # Only regular files with checked names are extracted; where tarfile has them
                    # (3.10.12+, 3.11.4+), the "data" filter also resets odd permissions.
                    tar.extract(member, scratch, **_TAR_FILTER)
        for split in splits:
            extracted = scratch / _EMBEDDINGS_FOLDER / split
            if not any(extracted.glob("*.tfrecord")):
                raise DataError(f"{archive} holds no {_EMBEDDINGS_FOLDER}/{split}/*.tfrecord files")
        for split in splits:
            _replace_dir(scratch / _EMBEDDINGS_FOLDER / split, embeddings_dir / split)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise DataError(f"cannot unpack the AudioSet features archive {archive}: {exc}") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def download_audioset_embeddings(
    root: str | os.PathLike[str] | None = None,
    *,
    splits: Sequence[str] = ("bal_train", "eval"),
    progress: bool = True,
    base_url: str = AUDIOSET_BASE_URL,
    ontology_url: str = AUDIOSET_ONTOLOGY_URL,
    known_hash: str | None = AUDIOSET_FEATURES_KNOWN_HASH,
    keep_archive: bool = False,
) -> Path:
    """Download AudioSet's class list, segment lists, ontology and the embeddings of some splits.

    Files already present are kept; ``features.tar.gz`` (about 2.4 GB) is fetched only when a
    requested split has no ``.tfrecord`` files yet, and only those splits are unpacked.

    Parameters
    ----------
    root : path or None
        Data root that gets ``audioset/`` (or an existing AudioSet folder). None means
        :func:`~zsac.datasets.data_root`.
    splits : sequence of str, keyword-only
        Any of ``"bal_train"``, ``"eval"``, ``"unbal_train"``.
    progress : bool, keyword-only
        Show download progress bars.
    base_url : str, keyword-only
        AudioSet v1 base URL, with ``csv/<name>.csv`` and ``features/features.tar.gz`` below it.
    ontology_url : str, keyword-only
        URL of ``ontology.json``.
    known_hash : str or None, keyword-only
        ``"<alg>:<hex>"`` checksum of ``features.tar.gz``; None (the default, as none is
        published) skips the check with a warning.
    keep_archive : bool, keyword-only
        Keep ``features.tar.gz`` after unpacking (to unpack other splits later without a download).

    Returns
    -------
    pathlib.Path
        The AudioSet folder: ``class_labels_indices.csv``, ``ontology.json``, the segment CSVs
        and ``audioset_v1_embeddings/<split>/*.tfrecord``.

    Raises
    ------
    ConfigError
        An unknown or repeated split name.
    DataError
        A download failed or does not match ``known_hash``, or the archive is unsafe, corrupt
        or lacks a requested split.
    """
    splits = (splits,) if isinstance(splits, str) else tuple(splits)
    if not splits or len(set(splits)) != len(splits) or any(split not in AUDIOSET_SPLITS for split in splits):
        raise ConfigError(f"splits must be distinct names among {AUDIOSET_SPLITS}, got {splits}")
    target = audioset_dir(root, must_exist=False)
    base_url = base_url.rstrip("/")
    # Small files with no published checksum: pooch logs the sha256 of what it fetched.
    for name in ["class_labels_indices.csv", *(_SEGMENT_CSVS[split] for split in AUDIOSET_SPLITS if split in splits)]:
        _fetch(f"{base_url}/csv/{name}", target / name, known_hash=None, progress=progress)
    _fetch(ontology_url, target / "ontology.json", known_hash=None, progress=progress)

    embeddings_dir = target / _EMBEDDINGS_FOLDER
    missing = [split for split in splits if not any((embeddings_dir / split).glob("*.tfrecord"))]
    if not missing:
        logger.info("AudioSet embeddings for %s already present in %s", ", ".join(splits), embeddings_dir)
        return target
    url = f"{base_url}/features/features.tar.gz"
    if known_hash is None:
        logger.warning("downloading %s without a checksum: the archive is unverified", url)
    archive = _fetch(url, target / "features.tar.gz", known_hash=known_hash, progress=progress)
    _extract_splits(archive, embeddings_dir, missing)
    if not keep_archive:
        archive.unlink()
    logger.info("AudioSet embeddings for %s unpacked to %s", ", ".join(missing), embeddings_dir)
    return target
