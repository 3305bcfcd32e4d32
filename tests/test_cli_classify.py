"""``zsac train``, ``zsac classify`` and ``zsac embed``: outputs, batch failures, exit codes, errors."""

from __future__ import annotations

import csv
import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from zsac import ConfigError, DataError, ZeroShotClassifier
from zsac.batch import SEGMENT_SECONDS, classify_files, collect_audio_files, format_results
from zsac.checkpoint import model_version
from zsac.cli import main
from zsac.commands import run_classify, run_embed, run_train

pytestmark = pytest.mark.slow  # trains a classifier, then runs the commands

RATE = 16_000
CLASSES = ("low_hum", "high_whistle", "hiss", "clicks")


def make_sound(kind: str, seconds: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    if kind == "low_hum":
        wave = np.sin(2 * np.pi * 150 * t)
    elif kind == "high_whistle":
        wave = np.sin(2 * np.pi * 3000 * t)
    elif kind == "hiss":
        wave = rng.standard_normal(t.size)
    else:
        wave = np.zeros(t.size)
        wave[:: RATE // 10] = 1.0
    return (0.5 * wave / np.abs(wave).max() + 0.005 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "sounds"
    rng = np.random.default_rng(0)
    for kind in CLASSES:
        (root / kind).mkdir(parents=True)
        for i in range(4):
            sf.write(root / kind / f"{i}.wav", make_sound(kind, 2.0, rng), RATE)
    (root / "README.txt").write_text("not audio, ignored by the folder reader")
    (root / "classes.csv").write_text(
        "name,description\nlow_hum,a steady low hum\nhigh_whistle,a high whistle\nhiss,hissing noise\n"
    )
    return root


SMALL = {"conv_channels": (8, 16, 32, 64), "fc_units": 64, "max_epochs": 8, "patience": 8, "use_cache": False}


@pytest.fixture(scope="module")
def model(dataset: Path) -> Path:
    out = dataset.parent / "model"
    summary = run_train(data=dataset, out=out, progress=False, **SMALL)
    assert summary["classes"] == sorted(CLASSES)
    assert summary["n_clips"] == 16 and summary["skipped"] == {}
    return out


@pytest.fixture(scope="module")
def recordings(dataset: Path) -> Path:
    folder = dataset.parent / "recordings"
    (folder / "nested").mkdir(parents=True)
    rng = np.random.default_rng(1)
    sf.write(folder / "hum.wav", make_sound("low_hum", 3.0, rng), RATE)
    sf.write(folder / "nested" / "hiss.flac", make_sound("hiss", 5.0, rng), RATE)
    # 32,000 samples at 44.1 kHz: 0.73 s, shorter than one segment, so zero-padded to one.
    sf.write(folder / "stereo.wav", np.stack([make_sound("clicks", 2.0, rng)] * 2, axis=1), 44_100)
    (folder / "broken.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    return folder


class TestTrain:
    def test_model_folder_and_descriptions(self, model: Path) -> None:
        config = json.loads((model_version(model) / "classifier.json").read_text())
        descriptions = {c["name"]: c["description"] for c in config["classes"]}
        assert descriptions["low_hum"] == "a steady low hum"
        assert descriptions["clicks"] == "clicks"  # not in classes.csv: the label stands in
        assert (model_version(model) / "acoustic" / "model.safetensors").is_file()
        assert (model_version(model) / "bilinear" / "bilinear.safetensors").is_file()
        assert not model.with_name("model.partial").exists()

    def test_bad_file_is_reported_and_skipped(self, dataset: Path, tmp_path: Path, capsys) -> None:
        data = tmp_path / "data"
        for kind in CLASSES[:2]:
            (data / kind).mkdir(parents=True)
            for source in sorted((dataset / kind).glob("*.wav"))[:2]:
                (data / kind / source.name).write_bytes(source.read_bytes())
        (data / "low_hum" / "corrupt.wav").write_bytes(b"RIFF garbage")
        code = main(["-q", "train", "--data", str(data), "-o", str(tmp_path / "m"), "--conv-channels", "4", "4", "4",
                     "4", "--fc-units", "16", "--max-epochs", "1", "--no-quantize", "--no-cache"])  # fmt: skip
        err = capsys.readouterr().err
        assert code == 1
        assert "corrupt.wav" in err and "1 files were skipped" in err
        assert (model_version(tmp_path / "m") / "classifier.json").is_file()

    def test_unknown_class_option_is_an_error(self, dataset: Path, tmp_path: Path, capsys) -> None:
        code = main(["-q", "train", "--data", str(dataset), "-o", str(tmp_path / "m"), "--exclude-classes", "cat"])
        assert code == 2
        assert "cat" in capsys.readouterr().err


class TestClassify:
    def test_table_lists_top_k_per_file_and_skips_bad_files(self, model: Path, recordings: Path, capsys) -> None:
        code = main(["-q", "classify", str(model), str(recordings), "--classes", "a low hum", "hissing", "clicks",
                     "--top-k", "2"])  # fmt: skip
        captured = capsys.readouterr()
        assert code == 1  # broken.wav
        assert "broken.wav" in captured.err and "1 files could not be classified" in captured.err
        lines = captured.out.splitlines()
        assert lines[0].split() == ["file", "time", "(s)", "rank", "class", "probability"]
        body = lines[2:]
        assert len(body) == 3 * 2  # 3 readable files x top 2
        assert sum(str(recordings / "nested" / "hiss.flac") in line for line in body) == 1  # named once

    def test_json_probabilities_and_order(self, model: Path, recordings: Path) -> None:
        classes = ["a low hum", "hissing", "clicks", "a whistle"]
        run, text = run_classify(model=model, files=[recordings], classes=classes, top_k=10,
                                 output_format="json", progress=False)  # fmt: skip
        data = json.loads(text)
        assert data["classes"] == classes
        assert set(data["failures"]) == {str(recordings / "broken.wav")}
        assert [Path(f["file"]).name for f in data["files"]] == ["hum.wav", "hiss.flac", "stereo.wav"]
        for entry in data["files"]:
            probabilities = [p["probability"] for p in entry["predictions"]]
            scores = [p["score"] for p in entry["predictions"]]
            assert len(probabilities) == 4  # top_k is capped at the number of classes
            assert abs(sum(probabilities) - 1) < 1e-3
            assert scores == sorted(scores, reverse=True)

    def test_results_equal_the_estimator(self, model: Path, recordings: Path) -> None:
        classes = ["a low hum", "hissing", "clicks"]
        files = [recordings / "hum.wav", recordings / "nested" / "hiss.flac"]
        run, _ = run_classify(model=model, files=files, classes=classes, top_k=3, progress=False,
                              inference="fp32")  # fmt: skip
        clf = ZeroShotClassifier.load(model, inference="fp32")
        proba = clf.predict_proba(files, classes=classes)
        for result, row in zip(run.results, proba, strict=True):
            by_class = {name: p for name, p, _ in result.top}
            np.testing.assert_allclose([by_class[c] for c in classes], row, rtol=1e-6)
            assert result.top[0][0] == clf.predict([result.file], classes=classes)[0]

    def test_timeline_windows_cover_the_file(self, model: Path, recordings: Path) -> None:
        run, text = run_classify(model=model, files=[recordings / "nested" / "hiss.flac"], classes=["a", "b"],
                                 top_k=1, timeline=2.0, output_format="csv", progress=False)  # fmt: skip
        (result,) = run.results
        assert result.n_segments == 5
        spans = [edge for start, end, _ in result.timeline for edge in (start, end)]
        # round(2.0 / 0.96) = 2 segments per window; the last window holds the one left over and
        # reaches the end of the 5.0-s file (its last 0.2 s are less than a segment).
        assert spans == pytest.approx([*np.array([0, 2, 2, 4, 4]) * SEGMENT_SECONDS, 5.0])
        assert result.duration_s == pytest.approx(5.0) and run.window_s == pytest.approx(2 * SEGMENT_SECONDS)
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [row["level"] for row in rows] == ["file", "window", "window", "window"]
        # The whole file is the mean of all segments, not of the window means (windows differ in size).
        clf = ZeroShotClassifier.load(model)
        batch = clf.embed_segments([recordings / "nested" / "hiss.flac"])
        np.testing.assert_allclose(batch.clip_embeddings()[0], batch.segments[0].mean(axis=0), rtol=1e-5)

    def test_timeline_of_one_window_per_segment(self, model: Path, recordings: Path) -> None:
        clf = ZeroShotClassifier.load(model, inference="fp32")
        run = classify_files(clf, [recordings / "hum.wav"], classes=["x", "y"], timeline=0.1, progress=False)
        (result,) = run.results
        assert len(result.timeline) == result.n_segments == 3

    @pytest.mark.parametrize("window", [0.0, -1.0, float("nan"), float("inf"), "five"])
    def test_timeline_refuses_windows_that_are_not_positive_seconds(self, model, recordings, window) -> None:
        clf = ZeroShotClassifier.load(model)
        with pytest.raises(ConfigError, match="timeline window"):
            classify_files(clf, [recordings / "hum.wav"], classes=["x", "y"], timeline=window, progress=False)

    def test_timeline_says_when_it_rounds_a_window(self, model, recordings, caplog) -> None:
        clf = ZeroShotClassifier.load(model)
        with caplog.at_level(logging.WARNING, logger="zsac.batch"):
            run = classify_files(clf, [recordings / "hum.wav"], classes=["x", "y"], timeline=0.5, progress=False)
        assert run.window_s == pytest.approx(SEGMENT_SECONDS)
        assert any("0.5 s is rounded to 1 segment = 0.96 s" in r.getMessage() for r in caplog.records)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="zsac.batch"):
            classify_files(clf, [recordings / "hum.wav"], classes=["x", "y"], timeline=2 * SEGMENT_SECONDS,
                           progress=False)  # fmt: skip
        assert not caplog.records

    def test_durations_are_the_files_own(self, model, recordings) -> None:
        run, text = run_classify(model=model, files=[recordings], classes=["a", "b"], output_format="json",
                                 progress=False)  # fmt: skip
        durations = {Path(f["file"]).name: f["duration_s"] for f in json.loads(text)["files"]}
        # 3.0 s, 5.0 s, and 32,000 samples at 44.1 kHz; not whole segments (2.88, 4.8, 0.96).
        assert durations == {"hum.wav": 3.0, "hiss.flac": 5.0, "stereo.wav": round(32_000 / 44_100, 3)}
        table = format_results(run, "table")
        assert "whole file" in table and " all " not in table

    def test_classes_file_takes_a_class_table_of_the_same_spec(self, model, recordings, tmp_path) -> None:
        from zsac.commands import run_embed_classes

        names = ["a low hum", "hissing", "clicks"]
        table = tmp_path / "classes.npz"
        run_embed_classes(semantic="SLE+SSE", classes=names, out=table, cache_dir=tmp_path / "c", progress=False)
        from_table, _ = run_classify(model=model, files=[recordings / "hum.wav"], classes_file=table, progress=False)
        from_texts, _ = run_classify(model=model, files=[recordings / "hum.wav"], classes=names, progress=False)
        assert from_table.classes == names
        table_top, texts_top = from_table.results[0].top, from_texts.results[0].top
        assert [name for name, _, _ in table_top] == [name for name, _, _ in texts_top]
        np.testing.assert_allclose([s for _, _, s in table_top], [s for _, _, s in texts_top], rtol=1e-6, atol=1e-9)
        other = tmp_path / "sle.npz"
        run_embed_classes(semantic="SLE", classes=names, out=other, cache_dir=tmp_path / "c", progress=False)
        with pytest.raises(DataError, match="holds SLE embeddings .* --semantic SLE\\+SSE"):
            run_classify(model=model, files=[recordings / "hum.wav"], classes_file=other, progress=False)

    def test_int8_classification_on_a_cpu_loads_no_torch(self, model, recordings, tmp_path) -> None:
        from zsac.commands import run_embed_classes

        table = tmp_path / "classes.npz"  # a class table, so that no text model runs either
        run_embed_classes(semantic="SLE+SSE", classes=["hum", "hiss"], out=table, progress=False)
        code = (
            "import sys\n"
            "from zsac.cli import main\n"
            f"code = main(['-q', 'classify', {str(model)!r}, {str(recordings / 'hum.wav')!r}, '--classes-file', "
            f"{str(table)!r}, '--device', 'cpu'])\n"
            "print(code, sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert "hum" in done.stdout and done.stdout.strip().splitlines()[-1] == "0 []"

    def test_classes_file_and_default_classes(self, model: Path, recordings: Path, tmp_path: Path) -> None:
        listing = tmp_path / "classes.txt"
        listing.write_text("# my classes\nhum\nhiss\n")
        run, _ = run_classify(model=model, files=[recordings / "hum.wav"], classes_file=listing, progress=False)
        assert run.classes == ["hum", "hiss"]
        run, _ = run_classify(model=model, files=[recordings / "hum.wav"], progress=False)
        assert run.classes == sorted(CLASSES)

    @pytest.mark.parametrize(
        ("classes", "message"),
        [
            (["dog", "Dog "], "twice"),
            (["dog", "?!"], "no words"),
        ],
    )
    def test_bad_class_lists_are_refused(self, model: Path, recordings: Path, capsys, classes, message) -> None:
        code = main(["-q", "classify", str(model), str(recordings / "hum.wav"), "--classes", *classes])
        assert code == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err

    def test_empty_class_list_through_the_api(self, model: Path, recordings: Path) -> None:
        from zsac.errors import DataError

        with pytest.raises(DataError, match="empty"):
            run_classify(model=model, files=[recordings / "hum.wav"], classes=[], progress=False)

    def test_not_a_model_folder(self, recordings: Path, tmp_path: Path, capsys) -> None:
        code = main(["-q", "classify", str(tmp_path), str(recordings / "hum.wav"), "--classes", "a", "b"])
        assert code == 2
        assert "not a zsac classifier" in capsys.readouterr().err

    def test_only_bad_files(self, model: Path, recordings: Path, tmp_path: Path, capsys) -> None:
        out = tmp_path / "out.csv"
        code = main(["-q", "classify", str(model), str(recordings / "broken.wav"), str(tmp_path / "missing.wav"),
                     "--classes", "a", "b", "--format", "csv", "-o", str(out)])  # fmt: skip
        err = capsys.readouterr().err
        # Nothing classified is an error (exit 2, as for any zsac error), and no empty output is left.
        assert code == 2
        assert "none of the 2 files could be classified" in err
        assert "missing.wav" in err and "does not exist" in err
        assert not out.exists()

    def test_inference_modes_agree(self, model: Path, recordings: Path) -> None:
        files = [recordings / "hum.wav", recordings / "nested" / "hiss.flac"]
        embeddings = {}
        for mode in ("fp32", "bf16", "int8"):
            clf = ZeroShotClassifier.load(model, inference=mode)
            embeddings[mode] = clf.transform(files)
        for mode in ("bf16", "int8"):
            cosine = np.sum(embeddings[mode] * embeddings["fp32"], axis=1) / (
                np.linalg.norm(embeddings[mode], axis=1) * np.linalg.norm(embeddings["fp32"], axis=1)
            )
            assert cosine.min() > 0.98, mode


class TestEmbed:
    def test_npz_without_pickle(self, model: Path, recordings: Path, tmp_path: Path, capsys) -> None:
        out = tmp_path / "emb.npz"
        code = main(["-q", "embed", str(model), str(recordings), "-o", str(out), "--segments"])
        assert code == 1  # broken.wav
        with np.load(out, allow_pickle=False) as saved:
            assert saved["embeddings"].shape == (3, 128)
            assert saved["segment_counts"].tolist() == [3, 5, 1]
            assert saved["segment_embeddings"].shape == (9, 128)
            np.testing.assert_allclose(saved["embeddings"][1], saved["segment_embeddings"][3:8].mean(axis=0),
                                       rtol=1e-5)  # fmt: skip
        assert "broken.wav" in capsys.readouterr().err

    def test_embeddings_feed_the_estimator(self, model: Path, recordings: Path, tmp_path: Path) -> None:
        files = [recordings / "hum.wav", recordings / "stereo.wav"]
        run = run_embed(model=model, files=files, out=tmp_path / "e.npz", inference="fp32",
                        progress=False)  # fmt: skip
        clf = ZeroShotClassifier.load(model, inference="fp32")
        classes = ["a low hum", "clicks"]
        np.testing.assert_allclose(
            clf.decision_function(run.embeddings, classes=classes), clf.decision_function(files, classes=classes),
            rtol=1e-6,
        )  # fmt: skip


class TestHelpers:
    def test_collect_audio_files(self, recordings: Path, tmp_path: Path) -> None:
        found = collect_audio_files([recordings, tmp_path / "absent.wav"])
        assert [p.name for p in found] == ["broken.wav", "hum.wav", "hiss.flac", "stereo.wav", "absent.wav"]

    def test_unknown_format(self) -> None:
        from zsac.batch import ClassificationRun
        from zsac.errors import ConfigError

        with pytest.raises(ConfigError, match="xml"):
            format_results(ClassificationRun(classes=[], results=[], failures={}), "xml")


class TestTextSources:
    def test_new_classes_of_a_table_model_need_the_table_given_again(self, dataset, recordings, tmp_path, capsys):
        from zsac.semantic.tables import ClassTable

        names = (*CLASSES, "siren")
        rows = np.random.default_rng(0).normal(size=(len(names), 8)).astype(np.float32)
        table = ClassTable(rows, names=names).save(tmp_path / "wle.npz")
        out = tmp_path / "wle-model"
        run_train(data=dataset, out=out, semantic="WLE", tables={"WLE": str(table)}, progress=False, **SMALL)
        clip = str(recordings / "hum.wav")
        # The model folder names the table, but a loaded model never opens a path from its folder.
        assert main(["-q", "classify", str(out), clip, "--classes", "siren", "low_hum"]) == 2
        assert "pass them again" in capsys.readouterr().err
        code = main(["-q", "classify", str(out), clip, "--classes", "siren", "low_hum", "--table", f"WLE={table}",
                     "--format", "json"])  # fmt: skip
        captured = capsys.readouterr()
        assert code == 0, captured.err
        data = json.loads(captured.out)
        assert data["classes"] == ["siren", "low_hum"] and len(data["files"]) == 1


class TestCalibrationAndLabelTemplate:
    def test_calibration_applies_when_training_and_new_classes_mix(self, model, recordings, capsys) -> None:
        learnt = ZeroShotClassifier.load(model).calibration_
        args = ["-q", "classify", str(model), str(recordings / "hum.wav"), "--format", "json"]
        for extra, classes, gamma in [
            ([], ["low_hum", "a siren"], learnt),
            (["--calibration", "none"], ["low_hum", "a siren"], 0.0),
            (["--calibration", "1000"], ["low_hum", "a siren"], 1000.0),
            (["--calibration", "1000"], ["low_hum", "hiss"], 0.0),  # training classes only: no calibration
        ]:
            assert main([*args, "--classes", *classes, *extra]) == 0
            data = json.loads(capsys.readouterr().out)
            assert data["calibration"] == gamma and data["training_classes"] == [c for c in classes if c != "a siren"]
            best = data["files"][0]["predictions"][0]
            if gamma == 1000.0:
                assert best["class"] == "a siren"  # a training class 1000 down never wins
        assert main([*args, "--calibration", "nan"]) == 2
        assert "calibration must be auto, none or a finite number" in capsys.readouterr().err

    def test_label_template_shapes_the_new_class_texts(self, model, recordings, monkeypatch, capsys) -> None:
        from zsac.semantic.specs import SemanticEmbedder

        embedded = []
        original = SemanticEmbedder.embed

        def recording(self, spec, classes):
            embedded.extend(c.label for c in classes)
            return original(self, spec, classes)

        monkeypatch.setattr(SemanticEmbedder, "embed", recording)
        clip = [recordings / "hum.wav"]
        run_classify(model=model, files=clip, classes=["siren"], label_template="the sound of {label}", progress=False)
        assert "the sound of siren" in embedded and "siren" not in embedded
        embedded.clear()
        run_classify(model=model, files=clip, classes=["siren"], progress=False)
        assert "siren" in embedded and "the sound of siren" not in embedded
        assert main(["-q", "classify", str(model), str(clip[0]), "--classes", "x", "--label-template", "no field"]) == 2
        assert "needs a {label} field" in capsys.readouterr().err
