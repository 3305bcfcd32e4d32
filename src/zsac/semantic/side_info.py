"""Class side information: the names, labels and descriptions that semantic embeddings are made from.

A :class:`ClassInfo` holds one class's texts:

- ``name`` identifies the class, exactly as the dataset writes it (``door_wood_knock``,
  ``Chicken, rooster``);
- ``label`` is the text of its label embedding (WLE, GLE, SLE), by default the name
  with underscores read as spaces;
- ``description`` is the sentence its sentence embeddings are made from (WSE, GSE, BSE,
  SSE), e.g. the ``description`` of AudioSet's ontology.json;
- ``mid`` is an optional stable identifier (AudioSet's machine ids) used to match
  precomputed tables.

Sources: ESC-50 categories, AudioSet's ``class_labels_indices.csv`` plus ``ontology.json``,
and user files in CSV, JSON, YAML or plain text (see :func:`read_class_file`).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .._files import check_regular_file
from ..errors import ConfigError, DataError

logger = logging.getLogger(__name__)

__all__ = [
    "ClassInfo",
    "label_from_name",
    "esc50_class_info",
    "audioset_class_info",
    "read_audioset_ontology",
    "read_class_file",
    "with_descriptions",
    "with_ontology_context",
    "validate_classes",
    "as_class_infos",
    "with_fallback_descriptions",
    "training_class_texts",
    "class_name_key",
    "check_label_template",
]

AUDIOSET_CLASS_COLUMNS = ("index", "mid", "display_name")


@dataclasses.dataclass(frozen=True)
class ClassInfo:
    """The side information of one sound class.

    Parameters
    ----------
    name : str
        The class as the dataset names it; unique within a class list.
    label : str or None
        Text of the label embedding; ``None`` means :func:`label_from_name` of ``name``.
    description : str or None
        Sentence description, needed by sentence-embedding specs (WSE, GSE, BSE, SSE).
    mid : str or None
        Stable identifier, e.g. AudioSet's ``/m/0bt9lr``; precomputed tables match on it first.
    """

    name: str
    _: dataclasses.KW_ONLY
    label: str | None = None
    description: str | None = None
    mid: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise DataError(f"a class name must be a non-empty string, got {self.name!r}")
        if self.label is None:
            object.__setattr__(self, "label", label_from_name(self.name))
        elif not self.label.strip():
            raise DataError(f"class {self.name!r} has an empty label")
        if self.description is not None and not self.description.strip():
            object.__setattr__(self, "description", None)
        if self.mid is not None and not self.mid.strip():
            object.__setattr__(self, "mid", None)


def label_from_name(name: str) -> str:
    """A class name as label text: ``door_wood_knock`` becomes ``door wood knock``."""
    return " ".join(name.replace("_", " ").split())


def validate_classes(classes: Sequence[ClassInfo], *, source: str = "the class list") -> list[ClassInfo]:
    """Check that ``classes`` is non-empty with unique names; return it as a list."""
    classes = list(classes)
    if not classes:
        raise DataError(f"{source} holds no classes")
    for item in classes:
        if not isinstance(item, ClassInfo):
            raise DataError(f"{source}: expected ClassInfo items, got {type(item).__name__} {item!r}")
    duplicates = sorted(name for name, count in Counter(c.name for c in classes).items() if count > 1)
    if duplicates:
        raise DataError(f"{source} names these classes more than once: {duplicates}")
    return classes


#: The AudioSet ontology class whose description stands for each ESC-50 class (ESC-50 has none).
#: Chosen by hand by name and description; ``drinking_sipping``, ``can_opening`` and
#: ``washing_machine`` have no close AudioSet class, so their stand-ins are loose.
ESC50_AUDIOSET_NAMES: dict[str, str] = {
    "dog": "Dog", "rooster": "Crowing, cock-a-doodle-doo", "pig": "Pig", "cow": "Cattle, bovinae", "frog": "Frog",
    "cat": "Cat", "hen": "Chicken, rooster", "insects": "Insect", "sheep": "Sheep", "crow": "Crow",
    "rain": "Rain", "sea_waves": "Waves, surf", "crackling_fire": "Fire", "crickets": "Cricket",
    "chirping_birds": "Bird vocalization, bird call, bird song", "water_drops": "Drip", "wind": "Wind",
    "pouring_water": "Pour", "toilet_flush": "Toilet flush", "thunderstorm": "Thunderstorm",
    "crying_baby": "Baby cry, infant cry", "sneezing": "Sneeze", "clapping": "Clapping", "breathing": "Breathing",
    "coughing": "Cough", "footsteps": "Walk, footsteps", "laughing": "Laughter", "brushing_teeth": "Toothbrush",
    "snoring": "Snoring", "drinking_sipping": "Liquid", "door_wood_knock": "Knock", "mouse_click": "Clicking",
    "keyboard_typing": "Computer keyboard", "door_wood_creaks": "Creak", "can_opening": "Burst, pop",
    "washing_machine": "Mechanisms", "vacuum_cleaner": "Vacuum cleaner", "clock_alarm": "Alarm clock",
    "clock_tick": "Tick-tock", "glass_breaking": "Shatter", "helicopter": "Helicopter", "chainsaw": "Chainsaw",
    "siren": "Siren", "car_horn": "Vehicle horn, car horn, honking", "engine": "Engine", "train": "Train",
    "church_bells": "Church bell", "airplane": "Fixed-wing aircraft, airplane", "fireworks": "Fireworks",
    "hand_saw": "Sawing",
}  # fmt: skip


def esc50_class_info(categories: Iterable[str], *, ontology: str | os.PathLike[str] | None = None) -> list[ClassInfo]:
    """ESC-50 categories (``door_wood_knock``) as classes labelled ``door wood knock``.

    ESC-50 has no descriptions. Given AudioSet's ``ontology.json``, each class takes the
    description (and mid) of its AudioSet counterpart in :data:`ESC50_AUDIOSET_NAMES`, so that
    sentence specs (SSE, WSE, BSE) work on ESC-50; a category with no counterpart keeps none.
    """
    classes = [ClassInfo(name=category) for category in categories]
    if ontology is not None:
        by_name = {entry.get("name"): entry for entry in read_audioset_ontology(ontology).values()}
        for index, item in enumerate(classes):
            entry = by_name.get(ESC50_AUDIOSET_NAMES.get(item.name))
            if entry is None:
                logger.warning("ESC-50 class %r has no AudioSet counterpart in %s; it gets no description",
                               item.name, ontology)  # fmt: skip
                continue
            classes[index] = dataclasses.replace(item, description=entry.get("description"), mid=entry["id"])
    return validate_classes(classes, source="ESC-50 categories")


def with_label_template(classes: Sequence[ClassInfo], template: str) -> list[ClassInfo]:
    """Classes whose label is ``template`` filled in with the label, e.g. ``"the sound of {label}"``.

    Label specs (WLE, GLE, SLE) then embed the templated text (prompting); names, mids and
    descriptions are kept.

    Raises
    ------
    ConfigError
        If ``template`` lacks the ``{label}`` field or names another field.
    """
    check_label_template(template)
    return [dataclasses.replace(item, label=template.format(label=item.label)) for item in classes]


def check_label_template(template: Any) -> None:
    """Raise ConfigError unless ``template`` is None or a text with a ``{label}`` field and no other.

    Raises
    ------
    ConfigError
    """
    if template is None:
        return
    if not isinstance(template, str) or "{label}" not in template:
        raise ConfigError(f"a label template needs a {{label}} field, got {template!r}")
    try:
        template.format(label="x")
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise ConfigError(f"bad label template {template!r}: {exc}") from exc


def read_audioset_ontology(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """AudioSet's ``ontology.json`` as a mapping from mid to its entry (``name``, ``description``, ...)."""
    path = Path(path)
    check_regular_file(path, what="AudioSet ontology")  # a FIFO would block read_text
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read the AudioSet ontology {path}: {exc}") from exc
    except RecursionError:
        raise DataError(f"cannot read the AudioSet ontology {path}: it is nested too deeply") from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "id" in e for e in entries):
        raise DataError(f"{path} is not an AudioSet ontology: expected a list of objects with an 'id'")
    return {entry["id"]: entry for entry in entries}


def _read_csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    check_regular_file(path, what="class file")  # a FIFO would block the open below
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            # AudioSet's CSVs put spaces after commas inside quoted display names only,
            # so skipinitialspace is safe and also accepts hand-written "name, description" files.
            reader = csv.DictReader(handle, skipinitialspace=True)
            rows = []
            for row in reader:
                if None in row:  # DictReader's key for the fields beyond the header's
                    raise DataError(
                        f"{path}, line {reader.line_num}: {len(reader.fieldnames or ()) + len(row[None])} fields, "
                        f"but the header names {len(reader.fieldnames or ())} (quote a field that holds a comma)"
                    )
                rows.append(row)
            columns = [c.strip() for c in (reader.fieldnames or [])]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read the class file {path}: {exc}") from exc
    rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in rows]
    return columns, rows


def audioset_class_info(
    class_labels_csv: str | os.PathLike[str],
    *,
    ontology: str | os.PathLike[str] | Mapping[str, Mapping[str, Any]] | None = None,
) -> list[ClassInfo]:
    """AudioSet classes from ``class_labels_indices.csv``, with ontology descriptions when given.

    The label is the display name as written, synonyms included (``Chicken, rooster``):
    label embeddings average over all of its words and phrases.

    Parameters
    ----------
    class_labels_csv : path
        ``class_labels_indices.csv`` with columns ``index,mid,display_name``.
    ontology : path, mapping or None
        ``ontology.json`` (or :func:`read_audioset_ontology`'s result); supplies ``description``.

    Returns
    -------
    list of ClassInfo
        In the CSV's index order.
    """
    path = Path(class_labels_csv)
    columns, rows = _read_csv_rows(path)
    if not set(AUDIOSET_CLASS_COLUMNS) <= set(columns):
        raise DataError(f"{path} is not an AudioSet class list: columns {columns}, expected {AUDIOSET_CLASS_COLUMNS}")
    try:
        rows.sort(key=lambda row: int(row["index"]))
    except ValueError as exc:
        raise DataError(f"{path}: the 'index' column must hold integers: {exc}") from exc
    entries = read_audioset_ontology(ontology) if isinstance(ontology, (str, os.PathLike)) else ontology
    classes = []
    for row in rows:
        description = None
        if entries is not None:
            entry = entries.get(row["mid"])
            description = entry.get("description") if entry else None
        classes.append(ClassInfo(name=row["display_name"], description=description, mid=row["mid"]))
    return validate_classes(classes, source=str(path))


def with_descriptions(classes: Sequence[ClassInfo], ontology: str | os.PathLike[str]) -> list[ClassInfo]:
    """Fill in missing descriptions from an AudioSet ontology, matching by mid, then by name."""
    entries = read_audioset_ontology(ontology)
    by_name = {entry.get("name", "").lower(): entry for entry in entries.values()}
    out = []
    for item in classes:
        if item.description is None:
            entry = entries.get(item.mid) if item.mid else None
            entry = entry or by_name.get(item.name.lower()) or by_name.get(item.label.lower())
            if entry and entry.get("description"):
                item = dataclasses.replace(item, description=entry["description"])
        out.append(item)
    return out


ONTOLOGY_CONTEXT_KINDS = ("names", "descriptions")
ONTOLOGY_CONTEXT_TARGETS = ("label", "description")


def _ontology_parents(entries: Mapping[str, Mapping[str, Any]], source: str) -> dict[str, list[str]]:
    """Each mid's parents (the entries that list it in ``child_ids``), in the ontology's order."""
    parents: dict[str, list[str]] = {}
    for mid, entry in entries.items():
        children = entry.get("child_ids", [])
        if not isinstance(children, list) or not all(isinstance(child, str) for child in children):
            raise DataError(f"{source}: entry {mid!r} has child_ids that are not a list of ids: {children!r}")
        for child in children:
            if mid not in parents.setdefault(child, []):
                parents[child].append(mid)
    return parents


def _ancestors(mid: str, parents: Mapping[str, Sequence[str]], levels: int) -> list[str]:
    """Ancestors up to ``levels`` generations above ``mid``, nearest first, each once, never ``mid`` itself."""
    seen, found, generation = {mid}, [], [mid]
    for _ in range(levels):  # a bounded walk with a visited set: a cycle in the ontology cannot loop
        generation = [parent for child in generation for parent in parents.get(child, ()) if parent not in seen]
        generation = list(dict.fromkeys(generation))
        seen.update(generation)
        found += generation
        if not generation:
            break
    return found


def with_ontology_context(
    classes: Sequence[ClassInfo],
    ontology: str | os.PathLike[str] | Mapping[str, Mapping[str, Any]],
    *,
    parents: int = 1,
    what: str = "names",
    into: Sequence[str] = ONTOLOGY_CONTEXT_TARGETS,
) -> list[ClassInfo]:
    """Classes whose texts also name (or describe) their parents in AudioSet's ontology.

    Label specs (WLE, GLE, SLE) embed the label and sentence specs (SSE, WSE, ...) the description,
    so appending the context to both gives every spec part the class's place in the ontology
    (``Dog`` is a kind of ``Domestic animals, pets``).

    The context is the class's ancestors up to ``parents`` generations, nearest first (its
    parents in the ontology's order, then theirs), each once. Text format, exactly:

    - ``what="names"``: ``"{text} ({name_1}; {name_2}; ...)"``, e.g.
      ``"Dog (Domestic animals, pets)"`` or, with ``parents=2``, ``"Dog (Domestic animals, pets; Animal)"``;
    - ``what="descriptions"``: ``"{text} {description_1} {description_2} ..."``, the ancestors'
      descriptions joined by single spaces (ancestors with an empty description are skipped).

    A class that the ontology does not hold (matched by mid, then by name, then by name ignoring
    case), or whose ancestors give no context, is returned unchanged, as is a class without a
    description when ``into`` names the description (it stays None). Names and mids never change.

    Parameters
    ----------
    classes : sequence of ClassInfo
    ontology : path or mapping
        ``ontology.json`` (entries with ``id``, ``name``, ``description``, ``child_ids``), or
        :func:`read_audioset_ontology`'s mapping from mid to entry.
    parents : int, keyword-only
        Generations of ancestors, at least 1 (1: the parents only).
    what : {"names", "descriptions"}, keyword-only
        What of each ancestor is appended.
    into : sequence of {"label", "description"}, keyword-only
        Which texts get the context; both by default.

    Returns
    -------
    list of ClassInfo
        In the order given.

    Raises
    ------
    ConfigError
        For ``parents < 1``, an unknown ``what`` or an empty or unknown ``into``.
    DataError
        For an unreadable ontology or ``child_ids`` that is not a list of ids.
    """
    if isinstance(parents, bool) or not isinstance(parents, int) or parents < 1:
        raise ConfigError(f"parents must be an int >= 1 (generations of ancestors), got {parents!r}")
    if what not in ONTOLOGY_CONTEXT_KINDS:
        raise ConfigError(f"what must be one of {ONTOLOGY_CONTEXT_KINDS}, got {what!r}")
    targets = (into,) if isinstance(into, str) else tuple(into)
    if not targets or not set(targets) <= set(ONTOLOGY_CONTEXT_TARGETS):
        raise ConfigError(f"into must name some of {ONTOLOGY_CONTEXT_TARGETS}, got {into!r}")
    if isinstance(ontology, (str, os.PathLike)):
        source, entries = str(ontology), read_audioset_ontology(ontology)
    elif isinstance(ontology, Mapping):
        source, entries = "the AudioSet ontology", ontology
    else:
        raise ConfigError(f"ontology must be a path or a mapping of mid to entry, got {type(ontology).__name__}")
    parent_map = _ontology_parents(entries, source)
    by_name = {str(entry.get("name", "")): mid for mid, entry in entries.items()}
    by_folded_name = {name.casefold(): mid for name, mid in by_name.items()}
    out, unmatched = [], []
    for item in classes:
        mid = item.mid if item.mid in entries else by_name.get(item.name, by_folded_name.get(item.name.casefold()))
        if mid is None:
            unmatched.append(item.name)
            out.append(item)
            continue
        ancestors = [entries[m] for m in _ancestors(mid, parent_map, parents) if m in entries]
        if what == "names":
            texts = [str(entry.get("name", "")).strip() for entry in ancestors]
        else:
            texts = [str(entry.get("description") or "").strip() for entry in ancestors]
        texts = [text for text in texts if text]
        if not texts:
            out.append(item)
            continue
        context = " (" + "; ".join(texts) + ")" if what == "names" else " " + " ".join(texts)
        changes = {}
        if "label" in targets:
            changes["label"] = item.label + context
        if "description" in targets and item.description is not None:
            changes["description"] = item.description + context
        out.append(dataclasses.replace(item, **changes))
    if unmatched:
        logger.debug("%d classes are not in %s and get no ontology context: %s", len(unmatched), source, unmatched[:5])
    return out


def _class_from_record(record: Any, where: str) -> ClassInfo:
    if isinstance(record, str):
        return ClassInfo(name=record)
    if not isinstance(record, Mapping):
        raise DataError(f"{where}: expected a class name or an object with 'name', got {record!r}")
    unknown = set(record) - {"name", "label", "description", "mid"}
    if unknown:
        raise DataError(f"{where}: unknown keys {sorted(unknown)}; allowed: name, label, description, mid")
    if not record.get("name"):
        raise DataError(f"{where}: an entry has no 'name': {dict(record)!r}")
    values = {key: (str(value) if value is not None else None) for key, value in record.items()}
    return ClassInfo(**values)


def _classes_from_structure(data: Any, path: Path) -> list[ClassInfo]:
    """JSON/YAML: a list of names or objects, or a mapping of name to description (or object)."""
    if isinstance(data, Mapping) and "classes" in data and len(data) == 1:
        data = data["classes"]
    if isinstance(data, Mapping):
        classes = []
        for name, value in data.items():
            if value is None or isinstance(value, str):
                classes.append(ClassInfo(name=str(name), description=value))
            elif isinstance(value, Mapping):
                classes.append(_class_from_record({"name": str(name), **value}, f"{path}, class {name!r}"))
            else:
                raise DataError(f"{path}, class {name!r}: expected a description or an object, got {value!r}")
        return classes
    if isinstance(data, list):
        return [_class_from_record(record, f"{path}, entry {i}") for i, record in enumerate(data)]
    raise DataError(f"{path}: expected a list of classes or a mapping of name to description")


def read_class_file(path: str | os.PathLike[str], *, ontology: str | os.PathLike[str] | None = None) -> list[ClassInfo]:
    """Read a class list from a user file, or from AudioSet's or ESC-50's own metadata.

    Formats, chosen by content and extension:

    - AudioSet ``class_labels_indices.csv`` (``index,mid,display_name``);
    - ESC-50 ``meta/esc50.csv`` (its categories, in target order);
    - CSV with a ``name`` column and optional ``description``, ``label``, ``mid`` columns;
    - JSON or YAML (``.json``, ``.yaml``, ``.yml``): a list of names or of objects with
      ``name`` and optional ``description``, ``label``, ``mid``; or a mapping from name to
      description (or to such an object); optionally under a top-level ``classes`` key;
    - plain text (any other extension): one class name per line; ``#`` starts a comment.

    Parameters
    ----------
    path : path
        The class file.
    ontology : path or None
        AudioSet ``ontology.json``; fills in descriptions that the file lacks.

    Returns
    -------
    list of ClassInfo
        In file order; names are unique.
    """
    path = Path(path)
    # By its stat, not is_file(): a FIFO or device is not "missing", and opening it would block.
    check_regular_file(path, what="class file")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        raise DataError(
            f"{path} is a class embedding table (zsac embed-classes writes these), not a class list: it holds "
            "embeddings but no descriptions. Give it to `zsac classify --classes-file`, or give this command the "
            "class file the table was made from"
        )
    if suffix == ".csv":
        columns, rows = _read_csv_rows(path)
        if set(AUDIOSET_CLASS_COLUMNS) <= set(columns):
            # Descriptions come from the common ontology step below (by mid first).
            classes = audioset_class_info(path)
        elif {"category", "target"} <= set(columns):
            targets: dict[str, int] = {}
            for i, row in enumerate(rows):
                if not row["target"].isdigit():
                    raise DataError(f"{path}, row {i + 2}: 'target' must be an integer, got {row['target']!r}")
                targets.setdefault(row["category"], int(row["target"]))
            classes = esc50_class_info(sorted(targets, key=targets.get))
        elif "name" in columns:
            allowed = {"name", "label", "description", "mid"}
            classes = [
                _class_from_record(
                    {key: (value or None) for key, value in row.items() if key in allowed}, f"{path}, row {i + 2}"
                )
                for i, row in enumerate(rows)
            ]
        else:
            raise DataError(f"{path}: a class CSV needs a 'name' column (and optionally 'description'); got {columns}")
    elif suffix in (".json", ".yaml", ".yml"):
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
        except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
            raise DataError(f"cannot parse the class file {path}: {exc}") from exc
        except RecursionError:
            raise DataError(f"cannot parse the class file {path}: it is nested too deeply") from None
        classes = _classes_from_structure(data, path)
    else:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read the class file {path}: {exc}") from exc
        names = [line.split("#", 1)[0].strip() for line in lines]
        classes = [ClassInfo(name=name) for name in names if name]
    if ontology is not None:
        classes = with_descriptions(classes, ontology)
    return validate_classes(classes, source=str(path))


# --------------------------------------------------------------------------- class texts from users


def class_name_key(text: str) -> str:
    """The form in which two class names are the same class: case and spacing ignored."""
    return " ".join(text.split()).casefold()


def as_class_infos(classes: Any, *, what: str = "classes") -> list[ClassInfo]:
    """Class texts as given by a user, as a list of :class:`ClassInfo`.

    Parameters
    ----------
    classes : sequence of str, mapping of str to str or None, or sequence of ClassInfo
        A plain string is the class's name; a mapping gives each name its description.
    what : str
        How errors name the list.

    Raises
    ------
    DataError
        An empty list, a name given twice (ignoring case and spacing), or a text with no words.
    """
    if isinstance(classes, (str, bytes)):
        raise DataError(f"{what} must be a list of class texts, not the single string {classes!r}")
    if classes is None:
        raise DataError(f"{what}: no classes given")
    if isinstance(classes, Mapping):
        items = [
            ClassInfo(name=str(name).strip(), description=None if text is None else str(text))
            for name, text in classes.items()
        ]
    else:
        items = []
        for entry in classes:
            if isinstance(entry, ClassInfo):
                items.append(entry)
            elif isinstance(entry, str):
                items.append(ClassInfo(name=entry.strip()))
            else:
                raise DataError(
                    f"{what}: expected class texts (str) or ClassInfo, got {type(entry).__name__} {entry!r}"
                )
    if not items:
        raise DataError(f"{what} is empty: give at least one class name or description")
    seen: dict[str, str] = {}
    for item in items:
        for text in (item.label, item.description):
            if text is not None and not re.search(r"\w", text):
                raise DataError(f"{what}: the class text {text!r} (class {item.name!r}) has no words")
        key = class_name_key(item.name)
        if key in seen:
            raise DataError(f"{what} names the class {item.name!r} twice (as {seen[key]!r} and {item.name!r})")
        seen[key] = item.name
    return items


def with_fallback_descriptions(classes: Sequence[ClassInfo]) -> list[ClassInfo]:
    """Classes without a description take their label as one.

    So that sentence parts (SSE, BSE, ...) work on names alone, and a class named by a user
    embeds the same way at training and at prediction time.
    """
    lacking = [c.name for c in classes if c.description is None]
    if lacking:
        logger.debug("%d classes have no description; their label stands in for it: %s", len(lacking), lacking[:5])
    return [c if c.description is not None else dataclasses.replace(c, description=c.label) for c in classes]


def training_class_texts(
    class_texts: Any, class_names: Sequence[str], *, allow_absent: bool = False
) -> dict[str, ClassInfo]:
    """Texts of training classes by name, from a mapping of name to description or a list of ClassInfo.

    Names that no clip has (absent from ``class_names``) are refused, unless ``allow_absent``
    (after unreadable files were skipped, a class may have lost all its clips).
    """
    if class_texts is None:
        return {}
    if isinstance(class_texts, Mapping):
        items = [ClassInfo(name=str(name), description=text) for name, text in class_texts.items()]
    else:
        items = list(class_texts)
        if not all(isinstance(item, ClassInfo) for item in items):
            raise DataError("class_texts must map class names to descriptions, or be a list of ClassInfo")
    texts = {item.name: item for item in items}
    unknown = sorted(set(texts) - set(class_names))
    if unknown and not allow_absent:
        raise DataError(
            f"class_texts describes classes that no clip has: {unknown}; the classes are {list(class_names)}"
        )
    return texts
