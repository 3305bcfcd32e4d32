"""Each setting has one home: every command-line default, choice list and name agrees with the library's.

The library defaults are read here straight from the signatures and dataclasses (not through
zsac's own setting registry), so a default retyped in the parser, or a parser option that
sets nothing in the library, fails these tests.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import logging
import subprocess
import sys

import pytest

import zsac.commands as commands
from zsac.acoustic import INFERENCE_MODES, VGGishConfig
from zsac.acoustic.config import CLASSIFIER_RECIPE
from zsac.batch import OUTPUT_FORMATS
from zsac.classifier import ZeroShotClassifier
from zsac.cli import COMMANDS, build_parser, main
from zsac.compatibility import SOLVERS, Bilinear
from zsac.reproduce import run_reproduce_audioset, run_reproduce_esc50
from zsac.reproduce.audioset import AUDIOSET_VGGISH
from zsac.semantic import SemanticConfig

#: A library parameter without a default, which the command line may fill in (e.g. reproduce's --out).
REQUIRED = object()


def _signature_defaults(function_or_class) -> dict:
    target = function_or_class.__init__ if isinstance(function_or_class, type) else function_or_class
    return {
        name: REQUIRED if p.default is inspect.Parameter.empty else p.default
        for name, p in inspect.signature(target).parameters.items()
        if p.kind is p.KEYWORD_ONLY
    }


def _field_defaults(config: type) -> dict:
    return {f.name: f.default for f in dataclasses.fields(config)}


def _library_defaults(command: str, dataset: str | None) -> dict:
    """What each command's options default to in the library, in the order the command passes them on."""
    run = getattr(commands, COMMANDS[command].run)
    sources = [_signature_defaults(run)]
    if command in ("train", "evaluate"):
        sources.append(_signature_defaults(ZeroShotClassifier))
    elif command == "train-acoustic":
        sources.append(_field_defaults(VGGishConfig))
    elif command == "embed-classes":
        sources.append(_field_defaults(SemanticConfig))
    elif command == "reproduce":
        runner = {"esc50": run_reproduce_esc50, "audioset": run_reproduce_audioset}[dataset]
        recipe = dataclasses.asdict(AUDIOSET_VGGISH if dataset == "audioset" else VGGishConfig())
        text_models = {k: v for k, v in _field_defaults(SemanticConfig).items() if k != "semantic"}
        sources += [_signature_defaults(runner), text_models, recipe]
    defaults: dict = {}
    for source in reversed(sources):
        defaults.update(source)
    return defaults


def _actions(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        if action.dest in ("help", "version", "verbose", "quiet") or action.help == argparse.SUPPRESS:
            continue
        yield action


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def _every_command():
    for name, parser in _subcommands(build_parser()).items():
        if name == "reproduce":
            for dataset, inner in _subcommands(parser).items():
                yield f"reproduce {dataset}", name, dataset, inner
        else:
            yield name, name, None, parser


@pytest.mark.parametrize(("label", "command", "dataset", "parser"), list(_every_command()), ids=lambda x: str(x))
def test_every_cli_default_equals_the_library_default(label, command, dataset, parser):
    library = _library_defaults(command, dataset)
    for action in _actions(parser):
        if action.required or action.dest in ("model", "files"):
            continue
        assert action.dest in library, f"zsac {label} {action.option_strings}: sets nothing named {action.dest!r}"
        default, expected = action.default, library[action.dest]
        if expected is REQUIRED:
            continue
        if isinstance(expected, tuple):
            expected = list(expected)
        if isinstance(default, tuple):
            default = list(default)
        assert default == expected, f"zsac {label} {action.option_strings}: {default!r} != library {expected!r}"


def test_choice_lists_come_from_the_library():
    parsers = dict((label, parser) for label, _, _, parser in _every_command())
    choices = {(label, a.dest): tuple(a.choices) for label, p in parsers.items() for a in _actions(p) if a.choices}
    assert choices[("train", "solver")] == SOLVERS
    assert choices[("reproduce audioset", "solver")] == SOLVERS
    assert choices[("classify", "inference")] == INFERENCE_MODES
    assert choices[("embed", "inference")] == INFERENCE_MODES
    assert choices[("classify", "output_format")] == OUTPUT_FORMATS
    assert (
        choices[("train-acoustic", "split_unit")]
        == VGGishConfig.__dataclass_fields__["split_unit"].metadata["zsac.setting"]["choices"]
    )


def test_option_names_mean_one_thing_across_commands():
    parsers = {label: parser for label, _, _, parser in _every_command()}
    for label, parser in parsers.items():
        flags = {flag: action.dest for action in _actions(parser) for flag in action.option_strings}
        if "--classes" in flags:  # the class texts to classify among, wherever it appears
            assert flags["--classes"] == "classes", label
        if "--semantic" in flags:
            assert flags["--semantic"] == "semantic", label
        if "--train-classes" in flags:
            assert flags["--train-classes"] == "train_classes", label
    assert "--classes" not in {f for a in _actions(parsers["train"]) for f in a.option_strings}


def test_every_run_function_takes_keywords_only():
    for spec in COMMANDS.values():
        run = getattr(commands, spec.run)
        kinds = {p.kind for p in inspect.signature(run).parameters.values()}
        assert kinds <= {inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD}, spec.run


def test_classifier_and_configs_share_their_defaults():
    params = ZeroShotClassifier().get_params()
    # The one intended difference: a user's classifier trains with the zsac recipe, reproduce with the paper's.
    assert (params["recipe"], VGGishConfig().recipe) == (CLASSIFIER_RECIPE, "paper")
    for config in (VGGishConfig(), SemanticConfig()):
        for field in dataclasses.fields(config):
            if field.name == "recipe":
                continue
            value = params[field.name]
            assert (list(value) if isinstance(value, tuple) else value) == (
                list(getattr(config, field.name)) if isinstance(getattr(config, field.name), tuple)
                else getattr(config, field.name)
            ), field.name  # fmt: skip
    assert Bilinear().solver == ZeroShotClassifier().solver


@pytest.mark.parametrize(
    ("argv", "dest", "value", "old"),
    [
        (["train-acoustic", "--data", "d", "-o", "o", "--lr", "0.5"], "learning_rate", 0.5, "--lr"),
        (["train", "--data", "d", "-o", "o", "--val-fraction", "0.3"], "validation_fraction", 0.3, "--val-fraction"),
        (["train", "--data", "d", "-o", "o", "--classes", "a", "b"], "train_classes", ["a", "b"], "--classes"),
        (["embed-classes", "-o", "t.npz", "--spec", "WLE", "--classes", "x"], "semantic", "WLE", "--spec"),
    ],
)
def test_old_spellings_still_work_and_warn(argv, dest, value, old, caplog):
    with caplog.at_level(logging.WARNING, logger="zsac.cli"):
        args = build_parser([argv[0]]).parse_args(argv)
    assert getattr(args, dest) == value
    assert any(old in r.getMessage() and "deprecated" in r.getMessage() for r in caplog.records)


def test_bad_options_are_one_line_errors(capsys):
    assert main(["train", "--data", "d", "-o", "o", "--solver", "newton"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zsac: error:") and "newton" in err and len(err.strip().splitlines()) == 1
    assert main(["classify", "m", "f.wav", "--timeline", "nan", "--classes", "a"]) == 2
    assert "timeline" in capsys.readouterr().err


def test_help_and_version_load_neither_torch_nor_scikit_learn():
    code = (
        "import sys\n"
        "from zsac.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'sklearn', 'scipy', 'transformers') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(("flags", "level"), [([], logging.WARNING), (["-v"], logging.INFO), (["-vv"], logging.DEBUG)])
def test_verbosity_sets_the_log_level(flags, level):
    code = (
        "import logging, sys\n"
        "from zsac.cli import main\n"
        f"main({flags!r} + ['embed-classes', '-o', '/nonexistent/t.npz'])\n"
        "print(logging.getLogger().level, logging.getLogger('sentence_transformers').level)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    root, third_party = map(int, done.stdout.split())
    assert root == level
    assert third_party == (logging.INFO if level == logging.DEBUG else logging.WARNING)


def test_old_spellings_warn_on_the_terminal():
    # Through the real entry point: the warning is logged while the options are parsed.
    done = subprocess.run(
        [sys.executable, "-m", "zsac", "embed-classes", "--spec", "WLE", "--classes", "dog", "-o", "/no/t.npz"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert "--spec is deprecated" in done.stderr and "use --semantic" in done.stderr
    assert done.returncode == 2 and "zsac: error:" in done.stderr  # WLE without word vectors


def test_results_folders_of_zsac_0_1_keep_their_configuration():
    """A results folder records the settings as zsac 0.1 did, so that its digest, and a resume, hold."""
    from zsac.reproduce.common import protocol_semantic, protocol_vggish

    assert protocol_semantic(SemanticConfig()) == {
        "word2vec": None, "glove": None, "bert": None, "sentence_model": None, "tables": {},
        "label_template": None, "normalize": True,
    }  # fmt: skip
    assert protocol_semantic(SemanticConfig(bert_layer=-1))["bert_layer"] == -1
    assert protocol_vggish(VGGishConfig()) == {
        "max_epochs": 100, "patience": 5, "batch_size": 64, "learning_rate": 1e-4, "validation_fraction": 0.2,
        "split_unit": "segment", "model_options": {},
    }  # fmt: skip
    assert protocol_vggish(VGGishConfig(fc_units=16))["model_options"] == {"fc_units": 16}
