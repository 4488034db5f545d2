"""The documentation stays true: spec reference vs schema, README examples run and validate."""
import contextlib
import io
import json
import pathlib
import re

import pytest

from pymodel import spec as spec_module

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
REFERENCE = (ROOT / "docs" / "spec-reference.md").read_text()
SCHEMA = json.loads((ROOT / "schemas" / "model.schema.json").read_text())


@pytest.fixture(autouse=True)
def keep_the_global_seed():
    """The examples call set_random_seed(), which pins every later model's generator: undo it."""
    import pymodel.utils

    before = pymodel.utils._SEED[0]
    yield
    pymodel.utils._SEED[0] = before


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)


# ---------------------------------------------------------------- schema paths
def _discriminator(branch: dict):
    """X when `branch` is `{"if": {"properties": {"type"|"class_name": {"const": X}}}, ...}`."""
    props = (branch.get("if") or {}).get("properties") or {}
    for key in ("type", "class_name"):
        if isinstance(props.get(key), dict) and "const" in props[key]:
            return props[key]["const"]
    return None


def _walk(node, path: str, out: set) -> None:
    """Adds `path.field` for every property reachable without following a $ref.

    Array items add `[]`; a branch chosen by `type`/`class_name` adds `{Name}`; `if` and `not`
    are conditions, not fields, and are skipped.
    """
    if not isinstance(node, dict):
        return
    for key, value in node.get("properties", {}).items():
        out.add(f"{path}.{key}")
        _walk(value, f"{path}.{key}", out)
    for key in ("items", "prefixItems"):
        value = node.get(key)
        for sub in value if isinstance(value, list) else [value]:
            _walk(sub, path + "[]", out)
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in node.get(key, []):
            name = _discriminator(sub)
            if name is None:
                _walk(sub, path, out)
            else:
                _walk(sub.get("then"), f"{path}{{{name}}}", out)
    for key in ("then", "else"):
        _walk(node.get(key), path, out)


def schema_paths() -> set:
    """`Section.field` for the top level ("spec") and each $defs entry.

    A field under `{Name}` that the section also has without it (`layer{Dense}.config` beside
    `layer.config`) is the same field and is listed once.
    """
    out: set = set()
    _walk(SCHEMA, "spec", out)
    for name, definition in SCHEMA["$defs"].items():
        _walk(definition, name, out)
    return {p for p in out if re.sub(r"\{[^}]*\}", "", p, count=1) == p
            or re.sub(r"\{[^}]*\}", "", p, count=1) not in out}


def documented_paths() -> set:
    """`Section.field` for every table row of docs/spec-reference.md under a `### `Section`` heading."""
    out, sections = set(), []
    for line in REFERENCE.splitlines():
        if line.startswith("#"):
            sections = re.findall(r"`([^`]+)`", line) if line.startswith("### ") else []
        match = re.match(r"^\| `([^`]+)` \|", line)
        if match and sections:
            out.update(f"{section}.{match.group(1)}" for section in sections)
    return out


def test_the_path_walk_sees_fields_at_every_depth():
    paths = schema_paths()
    for path in ("spec.format", "Dense.units", "initializer.config.stddev", "model.config.layers",
                 "callback{EarlyStopping}.restore_best_weights", "fit.callbacks", "outputs.plot"):
        assert path in paths
    assert "layer{Dense}.config" not in paths  # the same field as layer.config


def test_every_schema_field_is_in_the_spec_reference():
    missing = sorted(schema_paths() - documented_paths())
    assert not missing, "fields in schemas/model.schema.json missing from docs/spec-reference.md: " + ", ".join(missing)


# Layers documented ahead of their schema entries, which come with the convolution layers'
# branch; while the schema lacks a layer entirely its section is not checked, and once the
# schema has it, it is checked like every other section.
def test_every_field_in_the_spec_reference_exists_in_the_schema():
    unknown = sorted(documented_paths() - schema_paths())
    assert not unknown, "fields in docs/spec-reference.md that the schema does not have: " + ", ".join(unknown)


def test_every_reference_row_gives_type_default_and_meaning():
    rows = [line for line in REFERENCE.splitlines() if re.match(r"^\| `[^`]+` \|", line)]
    assert len(rows) > 100
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 4 and all(cells), row


# ---------------------------------------------------------------- README
def test_readme_starts_with_the_two_setup_commands_in_order():
    blocks = code_blocks(README, r"\w*")
    assert blocks[0].strip() == "pip install . && python -m pymodel run examples/xor.json"
    assert blocks[1].strip() == "pip install '.[test,plot]' && pytest"


def test_readme_python_quickstart_runs(tmp_path, monkeypatch):
    (code,) = code_blocks(README, "python")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    namespace: dict = {}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), namespace)
    assert 'Model: "sequential' in out.getvalue()
    assert "Epoch 1/20" in out.getvalue()
    assert set(namespace["history"].history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert namespace["probabilities"].shape == (5, 1)
    assert (tmp_path / "model.pmz").exists()


@pytest.mark.parametrize("text", [README, REFERENCE], ids=["README", "spec-reference"])
def test_spec_examples_in_the_docs_validate(text):
    blocks = code_blocks(text, "json")
    assert blocks
    for block in blocks:
        spec_module.validate(json.loads(block))


def test_readme_spec_example_runs(tmp_path):
    from pymodel.cli import main

    spec = json.loads(code_blocks(README, "json")[0])
    spec["fit"]["epochs"] = 20
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["run", str(path), "--quiet"]) == 0
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history["loss"]) == 20
    assert (tmp_path / "log.csv").read_text().startswith("epoch,loss")


def test_readme_lists_every_layer_type_a_spec_accepts():
    layers_row = next(line for line in README.splitlines() if line.startswith("| layers |"))
    for name in SCHEMA["$defs"]["layer_type"]["enum"]:
        assert f"`{name}`" in layers_row, name


def test_readme_links_point_at_files_that_exist():
    for target in re.findall(r"\]\(([^)#:]+)\)", README):
        assert (ROOT / target).exists(), target


# ---------------------------------------------------------------- docstring examples
DOCTESTED = ["pymodel.models.sequential", "pymodel.callbacks", "pymodel.layers.core",
             "pymodel.layers.dropout", "pymodel.layers.activation", "pymodel.layers.reshaping",
             "pymodel.layers.input_layer", "pymodel.optimizers", "pymodel.schedules",
             "pymodel.losses", "pymodel.spec", "pymodel.compiler", "pymodel.plotting"]


def doctest_globals() -> dict:
    """What the examples assume: `keras`, `np`, a small compiled `model` and data `x`, `y`."""
    import numpy as np

    import pymodel as keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)  # the same initial weights whatever ran before
    model = keras.Sequential([keras.layers.Dense(4, activation="relu", input_shape=(3,)),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    return {"keras": keras, "np": np, "model": model,
            "x": rng.normal(size=(8, 3)).astype("float32"),
            "y": (rng.random((8, 1)) > 0.5).astype("float32")}


@pytest.mark.parametrize("name", DOCTESTED)
def test_docstring_examples_run_and_print_what_they_show(name, tmp_path, monkeypatch):
    import doctest
    import importlib

    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = [t for t in doctest.DocTestFinder().find(module) if t.examples]
    assert tests, f"{name} has no examples"
    report: list = []
    for test in tests:
        test.globs.update(doctest_globals())
        runner.run(test, out=report.append)
    failed, attempted = runner.summarize(verbose=False)
    assert attempted and failed == 0, "".join(report)
