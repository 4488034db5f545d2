"""Spec validation: the schema is valid draft 2020-12, and each invalid spec is refused at the right JSON pointer."""
import json
import pathlib

import pytest
from jsonschema import Draft202012Validator

from pymodel import cli, spec
from pymodel.spec import SpecError

SPECS = pathlib.Path(__file__).parent / "specs"
EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"
INVALID = sorted((SPECS / "invalid").glob("*.json"))
VALID = sorted((SPECS / "valid").glob("*.json")) + sorted(EXAMPLES.glob("*.json"))


def write_case(tmp_path, case):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(case["spec"]))
    return path


def test_schema_is_valid_against_the_draft_2020_12_metaschema():
    schema = spec.load_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_file_in_the_repo_is_the_one_spec_loads():
    repo_copy = pathlib.Path(__file__).parent.parent / "schemas" / "model.schema.json"
    assert json.loads(repo_copy.read_text()) == spec.load_schema()


def test_invalid_cases_cover_every_family_of_rules():
    families = {json.loads(p.read_text())["family"] for p in INVALID}
    assert families >= {"types", "bounds", "required", "unknown keys", "names", "data paths", "layer args", "shapes"}


@pytest.mark.parametrize("case_path", INVALID, ids=lambda p: p.stem)
def test_invalid_spec_exits_2_naming_the_expected_pointer(case_path, tmp_path, capsys):
    case = json.loads(case_path.read_text())
    code = cli.main(["validate", str(write_case(tmp_path, case))])
    err = capsys.readouterr().err
    assert code == 2, err
    pointers = [line.split(": ", 1)[0] for line in err.splitlines() if not line.startswith("warning")]
    expected = [p or "/" for p in case["expected"]]
    assert pointers[: len(expected)] == expected, err
    assert "Traceback" not in err and "jsonschema" not in err


@pytest.mark.parametrize("spec_path", VALID, ids=lambda p: p.stem)
def test_valid_spec_and_example_pass_validation(spec_path, capsys):
    assert cli.main(["validate", str(spec_path)]) == 0, capsys.readouterr().err


def test_every_violation_is_reported_at_once():
    bad = {"format": "pymodel.spec/1",
           "model": {"layers": [{"type": "Dense", "units": -1, "input_dim": 0}, {"type": "Dropuot", "rate": 0.5}]},
           "compile": {"loss": "mse", "optimizer": "sgd"}, "fit": {"epochs": 0}}
    with pytest.raises(SpecError) as info:
        spec.validate(bad)
    assert [e.pointer for e in info.value.errors] == [
        "/fit/epochs", "/model/layers/0/input_dim", "/model/layers/0/units", "/model/layers/1/type"]
    assert isinstance(info.value, ValueError)


def test_unknown_names_get_a_did_you_mean_suggestion():
    bad = {"format": "pymodel.spec/1",
           "model": {"layers": [{"type": "Dense", "units": 1, "input_dim": 2, "activation": "sigmod", "unitz": 1}]},
           "compile": {"loss": "binary_crossentrpy", "optimizer": "adamm", "metrics": ["acuracy"]}}
    with pytest.raises(SpecError) as info:
        spec.validate(bad)
    messages = {e.pointer: e.message for e in info.value.errors}
    assert "did you mean 'sigmoid'?" in messages["/model/layers/0/activation"]
    assert "did you mean 'units'?" in messages["/model/layers/0/unitz"]
    assert "did you mean 'binary_crossentropy'?" in messages["/compile/loss"]
    assert "did you mean 'adam'?" in messages["/compile/optimizer"]
    assert "did you mean 'accuracy'?" in messages["/compile/metrics/0"]


def test_json_syntax_error_gives_line_and_column(tmp_path, capsys):
    path = tmp_path / "broken.json"
    path.write_text('{"format": "pymodel.spec/1",\n "model": {"layers": [\n  {"type": "Dense", "units": 2,}\n]}}\n')
    assert cli.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "line 3, column 32" in err and "Traceback" not in err


def test_messages_are_plain_sentences_not_schema_dumps():
    bad = {"format": "pymodel.spec/1", "model": {"layers": [{"type": "Dense", "units": "4", "input_dim": 2}]}}
    with pytest.raises(SpecError) as info:
        spec.validate(bad)
    (issue,) = info.value.errors
    assert issue == ("/model/layers/0/units", 'expected integer, got string "4"')
    assert "{" not in issue.message


def test_custom_code_is_accepted_only_when_imports_are_allowed():
    custom = {"format": "pymodel.spec/1", "model": {"layers": [{"type": "Dense", "units": 1, "input_dim": 2}]},
              "compile": {"loss": "mylosses:my_loss", "metrics": ["mymetrics:score"]}}
    with pytest.raises(SpecError) as info:
        spec.validate(custom)
    assert [e.pointer for e in info.value.errors] == ["/compile/loss", "/compile/metrics/0"]
    assert "allow" in info.value.errors[0].message
    spec.validate(custom, allow_import=True)


def test_keras_to_json_documents_of_both_versions_are_valid_models():
    for name in ("keras_2_12_to_json.json", "keras_2_15_to_json.json"):
        spec.validate(json.loads((SPECS / "valid" / name).read_text()))


def leaf_paths(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaf_paths(v, path + (k,))
    elif isinstance(node, list) and node and isinstance(node[0], (dict, list)):
        for i, v in enumerate(node):
            yield from leaf_paths(v, path + (i,))
    yield path


def replaced(node, path, value):
    if not path:
        return value
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[path[0]] = replaced(node[path[0]], path[1:], value)
    return copy


@pytest.mark.parametrize("spec_path", VALID, ids=lambda p: p.stem)
def test_any_single_wrong_value_gives_issues_with_pointers_never_a_crash(spec_path):
    source = json.loads(spec_path.read_text())
    junk = ("zz", -7, None, {}, 0.5, [], True)
    for n, path in enumerate(leaf_paths(source)):  # one kind of junk per place, cycling through them
        try:
            spec.validate(replaced(source, path, junk[n % len(junk)]))
        except SpecError as e:
            assert e.errors and all(i.pointer == "" or i.pointer.startswith("/") for i in e.errors)
            assert all(i.message and "\n" not in i.message for i in e.errors)


def test_a_swapped_pair_of_letters_suggests_the_name_one_edit_away():
    bad = {"format": "pymodel.spec/1",
           "model": {"layers": [{"type": "Dense", "units": 1, "input_dim": 2}]},
           "compile": {"loss": "mse", "optimizer": "adma"}}
    with pytest.raises(SpecError) as info:
        spec.validate(bad)
    assert "did you mean 'adam'?" in info.value.errors[0].message
