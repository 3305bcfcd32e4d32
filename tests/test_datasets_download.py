"""Downloads, offline: a local HTTP server with Range support serves archives that the tests build."""

from __future__ import annotations

import csv
import hashlib
import http.server
import io
import logging
import re
import tarfile
import threading
import zipfile

import numpy as np
import pytest
import requests
import soundfile as sf

from conftest import tone
from tfrecord_files import random_record, write_tfrecord
from zsac import DataError
from zsac.datasets import (
    ResumableHTTPDownloader,
    download_audioset_embeddings,
    download_esc50,
    esc50_clips,
    read_audioset_embeddings,
)
from zsac.datasets.esc50 import ESC50_COLUMNS


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the name http.server dispatches to)
        server = self.server
        data = server.files.get(self.path)
        requested = self.headers.get("Range")
        if data is None:
            server.log.append((self.path, requested, 404))
            self.send_error(404)
            return
        match = re.fullmatch(r"bytes=(\d+)-", requested or "")
        if match and server.honour_range:
            start = int(match.group(1))
            if start >= len(data):
                server.log.append((self.path, requested, 416))
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body, status = data[start:], 206
            self.send_response(status)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            body, status = data, 200
            self.send_response(status)
        server.log.append((self.path, requested, status))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if server.cut_after is not None:
            # Simulate a dropped connection: promise the whole body, send only part of it.
            body, server.cut_after = body[: server.cut_after], None
            self.close_connection = True
        self.wfile.write(body)

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.log, httpd.honour_range, httpd.cut_after = {}, [], True, None
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def esc50_zip(categories=("dog", "rain")) -> bytes:
    """A tiny ESC-50-master.zip in the official layout."""
    buffer = io.BytesIO()
    rows = []
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ESC-50-master/README.md", "tiny test copy\n")
        for target, category in enumerate(categories):
            name = f"1-{100 + target}-A-{target}.wav"
            wav = io.BytesIO()
            sf.write(wav, tone(300 + 200 * target, 0.2, 44_100), 44_100, format="WAV")
            archive.writestr(f"ESC-50-master/audio/{name}", wav.getvalue())
            rows.append(dict(zip(ESC50_COLUMNS, (name, 1, target, category, "True", 100 + target, "A"), strict=True)))
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=ESC50_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        archive.writestr("ESC-50-master/meta/esc50.csv", table.getvalue())
    return buffer.getvalue()


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith(".part"))


def test_download_esc50_extracts_once(server, tmp_path):
    data = esc50_zip()
    server.files["/esc.zip"] = data
    root = download_esc50(tmp_path / "data", url=server.url + "/esc.zip", known_hash=sha256(data), progress=False)
    assert root == tmp_path / "data" / "ESC-50"
    assert sorted(clip.label for clip in esc50_clips(root)) == ["dog", "rain"]
    assert (root / "README.md").is_file() and leftovers(tmp_path / "data") == []
    assert not (tmp_path / "data" / "ESC-50-master.zip").exists()  # the archive is not kept by default
    assert len(server.log) == 1
    # Complete already: no request at all, whether given the data root or the ESC-50 folder itself.
    assert download_esc50(tmp_path / "data", url=server.url + "/esc.zip", progress=False) == root
    assert download_esc50(root, url=server.url + "/esc.zip", progress=False) == root
    assert len(server.log) == 1


def test_download_esc50_resumes_a_partial_download(server, tmp_path):
    data = esc50_zip()
    server.files["/esc.zip"] = data
    (tmp_path / "ESC-50-master.zip.part").write_bytes(data[: len(data) // 2])
    root = download_esc50(
        tmp_path, url=server.url + "/esc.zip", known_hash=sha256(data), progress=False, keep_archive=True
    )
    assert server.log == [("/esc.zip", f"bytes={len(data) // 2}-", 206)]
    assert (tmp_path / "ESC-50-master.zip").read_bytes() == data
    assert len(esc50_clips(root)) == 2 and leftovers(tmp_path) == []


def test_interrupted_download_resumes_on_the_next_call(server, tmp_path):
    data = esc50_zip()
    server.files["/esc.zip"] = data
    server.cut_after = 1000
    options = dict(url=server.url + "/esc.zip", known_hash=sha256(data), progress=False)
    with pytest.raises(DataError, match=re.escape(server.url + "/esc.zip")):
        download_esc50(tmp_path, **options)
    assert (tmp_path / "ESC-50-master.zip.part").is_file()  # kept for the next run
    assert not (tmp_path / "ESC-50").exists() and not (tmp_path / "ESC-50-master.zip").exists()
    root = download_esc50(tmp_path, **options)
    assert len(esc50_clips(root)) == 2 and leftovers(tmp_path) == []

    # At most one chunk of what arrived before the cut is lost; the rest is asked for with a Range.
    server.cut_after = 1000
    downloader = ResumableHTTPDownloader(progressbar=False, chunk_size=100)
    with pytest.raises(requests.exceptions.RequestException):
        downloader(server.url + "/esc.zip", str(tmp_path / "copy.zip"), None)
    kept = (tmp_path / "copy.zip.part").stat().st_size
    assert 0 < kept <= 1000 and not (tmp_path / "copy.zip").exists()
    downloader(server.url + "/esc.zip", str(tmp_path / "copy.zip"), None)
    assert server.log[-1] == ("/esc.zip", f"bytes={kept}-", 206)
    assert (tmp_path / "copy.zip").read_bytes() == data and not (tmp_path / "copy.zip.part").exists()


def test_wrong_checksum_leaves_nothing(server, tmp_path):
    server.files["/esc.zip"] = esc50_zip()
    url = server.url + "/esc.zip"
    with pytest.raises(DataError, match=re.escape(url)):
        download_esc50(tmp_path, url=url, known_hash="sha256:" + "0" * 64, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    with pytest.raises(DataError, match="404"):
        download_esc50(tmp_path, url=server.url + "/missing.zip", known_hash=None, progress=False)


def test_unverified_download_warns(server, tmp_path, caplog):
    server.files["/esc.zip"] = esc50_zip()
    with caplog.at_level(logging.WARNING, logger="zsac.datasets.download"):
        download_esc50(tmp_path, url=server.url + "/esc.zip", known_hash=None, progress=False)
    assert any("unverified" in record.getMessage() for record in caplog.records)


def test_downloader_restarts_when_ranges_are_ignored_or_stale(server, tmp_path):
    data = bytes(range(256)) * 40
    server.files["/blob"] = data
    downloader = ResumableHTTPDownloader(progressbar=False, chunk_size=1000)
    target = tmp_path / "blob"

    server.honour_range = False
    (tmp_path / "blob.part").write_bytes(data[:500])
    downloader(server.url + "/blob", str(target), None)
    assert target.read_bytes() == data and server.log[-1] == ("/blob", "bytes=500-", 200)

    server.honour_range = True
    (tmp_path / "blob.part").write_bytes(data)  # complete already: the server answers 416
    downloader(server.url + "/blob", str(target), None)
    assert target.read_bytes() == data and server.log[-1] == ("/blob", f"bytes={len(data)}-", 416)

    (tmp_path / "blob.part").write_bytes(data + b"stale tail")  # longer than the file: start again
    downloader(server.url + "/blob", str(target), None)
    assert target.read_bytes() == data and [entry[2] for entry in server.log[-2:]] == [416, 200]
    assert not (tmp_path / "blob.part").exists()

    sink = io.BytesIO()  # a file object gets a plain streamed download
    downloader(server.url + "/blob", sink, None)
    assert sink.getvalue() == data
    assert downloader(server.url + "/nothing", str(target), None, check_only=True) is False


def features_tar(tmp_path, extra: dict[str, bytes] | None = None) -> bytes:
    """A tiny features.tar.gz: audioset_v1_embeddings/{bal_train,eval}/*.tfrecord."""
    rng = np.random.default_rng(0)
    files = {}
    for split, n in (("bal_train", 3), ("eval", 2)):
        path = write_tfrecord(
            tmp_path / "src" / f"{split}.tfrecord", [random_record(rng, f"{split}{i}") for i in range(n)]
        )
        files[f"audioset_v1_embeddings/{split}/{split[:2]}00.tfrecord"] = path.read_bytes()
    files.update(extra or {})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def serve_audioset(server, archive: bytes) -> None:
    server.files.update(
        {
            "/v1/features/features.tar.gz": archive,
            "/v1/csv/class_labels_indices.csv": b'index,mid,display_name\n0,/m/09x0r,"Speech"\n',
            "/v1/csv/balanced_train_segments.csv": b"# YTID, start_seconds, end_seconds, positive_labels\n",
            "/v1/csv/eval_segments.csv": b"# YTID, start_seconds, end_seconds, positive_labels\n",
            "/ontology.json": b"[]",
        }
    )


def test_download_audioset_embeddings(server, tmp_path):
    archive = features_tar(tmp_path)
    serve_audioset(server, archive)
    options = dict(base_url=server.url + "/v1", ontology_url=server.url + "/ontology.json", progress=False)
    root = download_audioset_embeddings(tmp_path / "data", splits=("bal_train",), known_hash=sha256(archive), **options)
    assert root == tmp_path / "data" / "audioset"
    for name in ("class_labels_indices.csv", "balanced_train_segments.csv", "ontology.json"):
        assert (root / name).is_file()
    assert not (root / "eval_segments.csv").exists() and not (root / "features.tar.gz").exists()
    assert not (root / "audioset_v1_embeddings" / "eval").exists()  # only the requested split is unpacked
    data = read_audioset_embeddings(tmp_path / "data", splits=("bal_train",), progress=False)
    assert data.video_id.tolist() == ["bal_train0", "bal_train1", "bal_train2"]
    assert leftovers(root) == [] and leftovers(root / "audioset_v1_embeddings") == []

    requests_made = len(server.log)
    download_audioset_embeddings(tmp_path / "data", splits=("bal_train",), **options)
    assert len(server.log) == requests_made  # everything is there: nothing is fetched again

    download_audioset_embeddings(root, splits=("eval", "bal_train"), known_hash=sha256(archive), **options)
    assert len(read_audioset_embeddings(root, progress=False)) == 5
    assert [entry[0] for entry in server.log[requests_made:]] == [
        "/v1/csv/eval_segments.csv",
        "/v1/features/features.tar.gz",
    ]


@pytest.mark.parametrize("evil", ["audioset_v1_embeddings/bal_train/../../../evil.tfrecord", "/tmp/evil.tfrecord"])
def test_unsafe_tar_member_is_refused(server, tmp_path, evil):
    archive = features_tar(tmp_path, {evil: b"owned"})
    serve_audioset(server, archive)
    with pytest.raises(DataError, match="unsafe member"):
        download_audioset_embeddings(
            tmp_path / "data",
            base_url=server.url + "/v1",
            ontology_url=server.url + "/ontology.json",
            known_hash=sha256(archive),
            progress=False,
        )
    root = tmp_path / "data" / "audioset"
    assert not (root / "audioset_v1_embeddings" / "bal_train").exists()
    assert not list(tmp_path.rglob("evil.tfrecord")) and leftovers(root) == []
