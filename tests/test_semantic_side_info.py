"""Class side information: ESC-50 and AudioSet names, ontology descriptions, user class files."""

from __future__ import annotations

import json

import pytest

from zsac.errors import DataError
from zsac.semantic import (
    ClassInfo,
    audioset_class_info,
    esc50_class_info,
    label_from_name,
    read_class_file,
)

AUDIOSET_CSV = """index,mid,display_name
1,/m/05zppz,"Male speech, man speaking"
0,/m/09x0r,"Speech"
2,/m/09b5t,"Chicken, rooster"
"""

ONTOLOGY = [
    {"id": "/m/09x0r", "name": "Speech", "description": "Sounds of human speech."},
    {"id": "/m/09b5t", "name": "Chicken, rooster", "description": "Sounds of a chicken."},
    {"id": "/m/0extra", "name": "Not a class", "description": "Ignored."},
]


@pytest.fixture
def audioset_files(tmp_path):
    csv_path = tmp_path / "class_labels_indices.csv"
    csv_path.write_text(AUDIOSET_CSV)
    ontology = tmp_path / "ontology.json"
    ontology.write_text(json.dumps(ONTOLOGY))
    return csv_path, ontology


def test_label_from_name_reads_underscores_as_spaces():
    assert label_from_name("door_wood_knock") == "door wood knock"
    assert label_from_name("  Chicken,  rooster ") == "Chicken, rooster"
    assert ClassInfo("crying_baby").label == "crying baby"
    assert ClassInfo("x", label="custom words").label == "custom words"


def test_class_info_rejects_empty_names_and_drops_blank_descriptions():
    with pytest.raises(DataError, match="non-empty"):
        ClassInfo("  ")
    assert ClassInfo("dog", description="  ").description is None


def test_esc50_categories():
    classes = esc50_class_info(["dog", "door_wood_knock"])
    assert [(c.name, c.label, c.description) for c in classes] == [
        ("dog", "dog", None),
        ("door_wood_knock", "door wood knock", None),
    ]
    with pytest.raises(DataError, match="more than once"):
        esc50_class_info(["dog", "dog"])


def test_audioset_display_names_in_index_order_with_ontology_descriptions(audioset_files):
    csv_path, ontology = audioset_files
    classes = audioset_class_info(csv_path, ontology=ontology)
    assert [c.name for c in classes] == ["Speech", "Male speech, man speaking", "Chicken, rooster"]
    assert [c.mid for c in classes] == ["/m/09x0r", "/m/05zppz", "/m/09b5t"]
    assert classes[2].label == "Chicken, rooster"  # synonyms kept for the label embedding
    assert classes[0].description == "Sounds of human speech."
    assert classes[1].description is None  # not in this ontology


def test_audioset_class_list_without_ontology_has_no_descriptions(audioset_files):
    classes = audioset_class_info(audioset_files[0])
    assert all(c.description is None for c in classes)


def test_read_class_file_detects_audioset_and_esc50_metadata(audioset_files, tmp_path):
    csv_path, ontology = audioset_files
    assert [c.mid for c in read_class_file(csv_path, ontology=ontology)] == ["/m/09x0r", "/m/05zppz", "/m/09b5t"]
    esc = tmp_path / "esc50.csv"
    esc.write_text(
        "filename,fold,target,category,esc10,src_file,take\n"
        "1-1-A-1.wav,1,1,rooster,True,1,A\n1-2-A-0.wav,1,0,dog,True,2,A\n1-3-A-0.wav,2,0,dog,True,3,A\n"
    )
    assert [c.name for c in read_class_file(esc)] == ["dog", "rooster"]


def test_read_user_csv_with_descriptions(tmp_path):
    path = tmp_path / "classes.csv"
    path.write_text('name,description\ndog barking,"A dog barks, loudly."\nglass_breaking,\n')
    classes = read_class_file(path)
    assert classes[0] == ClassInfo("dog barking", description="A dog barks, loudly.")
    assert classes[1].label == "glass breaking" and classes[1].description is None


def test_read_user_json_and_yaml_forms(tmp_path):
    as_list = tmp_path / "list.json"
    as_list.write_text(json.dumps(["dog", {"name": "cat", "description": "Meowing.", "mid": "/m/01yrx"}]))
    as_map = tmp_path / "map.yaml"
    as_map.write_text("classes:\n  dog: A dog barks.\n  cat:\n    description: Meowing.\n    label: house cat\n")
    from_list = read_class_file(as_list)
    assert from_list == [ClassInfo("dog"), ClassInfo("cat", description="Meowing.", mid="/m/01yrx")]
    from_map = read_class_file(as_map)
    assert from_map == [ClassInfo("dog", description="A dog barks."),
                        ClassInfo("cat", label="house cat", description="Meowing.")]  # fmt: skip


def test_read_plain_text_names_with_comments(tmp_path):
    path = tmp_path / "classes.txt"
    path.write_text("dog barking\n# a comment\n\nsiren  # trailing comment\n")
    assert [c.name for c in read_class_file(path)] == ["dog barking", "siren"]


def test_ontology_fills_descriptions_by_name_for_user_files(audioset_files, tmp_path):
    path = tmp_path / "classes.txt"
    path.write_text("speech\nunknown thing\n")
    classes = read_class_file(path, ontology=audioset_files[1])
    assert classes[0].description == "Sounds of human speech."
    assert classes[1].description is None


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", "# nothing\n", "holds no classes"),
        ("dupes.csv", "name\ndog\ndog\n", r"more than once: \['dog'\]"),
        ("nocol.csv", "label,text\na,b\n", "needs a 'name' column"),
        ("bad.yaml", "a: [unclosed\n", "cannot parse the class file .*bad.yaml"),
        ("bad.json", "{not json", "cannot parse the class file .*bad.json"),
        ("keys.json", json.dumps([{"name": "dog", "colour": "brown"}]), r"unknown keys \['colour'\]"),
        ("noname.json", json.dumps([{"description": "x"}]), "has no 'name'"),
    ],
)
def test_bad_class_files_give_clear_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        read_class_file(path)


def test_missing_class_file_is_named(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_class_file(tmp_path / "nope.csv")


def test_malformed_dataset_csvs_are_named(tmp_path):
    audioset = tmp_path / "class_labels_indices.csv"
    audioset.write_text("index,mid,display_name\nzero,/m/09x0r,Speech\n")
    with pytest.raises(DataError, match="class_labels_indices.csv: the 'index' column must hold integers"):
        read_class_file(audioset)
    esc = tmp_path / "esc50.csv"
    esc.write_text("filename,fold,target,category,esc10,src_file,take\n1-1-A-1.wav,1,x,dog,True,1,A\n")
    with pytest.raises(DataError, match=r"esc50.csv, row 2: 'target' must be an integer"):
        read_class_file(esc)
    blank = tmp_path / "blank.csv"
    blank.write_text("name,description\n,A description without a name.\n")
    with pytest.raises(DataError, match=r"blank.csv, row 2: an entry has no 'name'"):
        read_class_file(blank)


def test_class_info_options_are_keyword_only():
    with pytest.raises(TypeError):
        ClassInfo("dog", "a label")
