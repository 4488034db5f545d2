"""Load and validate declarative JSON specs against ``schemas/model.schema.json``.

Validation collects every violation at once. Each one is reported as a
``(pointer, message)`` pair: the JSON pointer of the offending place
(``/model/layers/2/units``) and a plain sentence; unknown names get a
"did you mean ..." from difflib. Errors are kept as data and rendered only at
the edge (the CLI prints one per line).
"""
from __future__ import annotations

import functools
import json
import pathlib
from importlib import resources
from typing import Any, Iterable, Iterator, NamedTuple

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from pymodel import validation

__all__ = ["FORMAT", "Issue", "SpecError", "load_schema", "parse", "load", "validate", "pointer", "is_custom_name"]

FORMAT = "pymodel.spec/1"


class Issue(NamedTuple):
    """One problem in a spec: where (JSON pointer) and what (plain sentence)."""

    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


class SpecError(ValueError):
    """A spec is invalid; ``errors`` lists every problem found, as Issues."""

    def __init__(self, errors: Iterable[Issue], source: str | None = None):
        self.errors = list(errors)
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(where + "invalid spec:\n" + "\n".join(str(e) for e in self.errors))


def pointer(path: Iterable[Any]) -> str:
    """RFC 6901 JSON pointer for a path of keys/indices (``("a", 0)`` -> ``/a/0``)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


@functools.lru_cache(maxsize=None)
def _schema_text() -> str:
    try:
        return resources.files("pymodel.schemas").joinpath("model.schema.json").read_text("utf-8")
    except ModuleNotFoundError:  # running from a source checkout: schemas/ sits beside pymodel/
        return (pathlib.Path(__file__).resolve().parent.parent / "schemas" / "model.schema.json").read_text("utf-8")


def load_schema() -> dict:
    """The spec JSON Schema (draft 2020-12), as a fresh dict."""
    return json.loads(_schema_text())


@functools.lru_cache(maxsize=None)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema())


def parse(text: str, source: str = "<spec>") -> dict:
    """Parse JSON text; a syntax error becomes a SpecError with its line and column."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError([Issue("", f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}")], source) from None
    if not isinstance(data, dict):
        raise SpecError([Issue("", f"a spec must be a JSON object, got {_type_name(data)}")], source)
    return data


def load(path, *, allow_import: bool = False, check_files: bool = True) -> dict:
    """Read, parse and validate the spec file at ``path``; returns the spec dict.

    Args:
        path: The spec file (relative data paths in it resolve against its folder).
        allow_import: Whether "module:function" losses and metrics may be imported.
        check_files: Whether data files named in the spec must exist.

    Returns:
        The spec as a dict.

    Raises:
        SpecError: the file is unreadable, not JSON, or not a valid spec; ``errors`` lists
            every problem as ``Issue(pointer, message)``.

    Example:
        >>> spec = load("examples/xor.json")  # doctest: +SKIP
        >>> spec["model"]["layers"][0]["units"]  # doctest: +SKIP
        4
    """
    path = pathlib.Path(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError([Issue("", f"cannot read spec file: {getattr(e, 'strerror', None) or e}")], str(path)) from None
    spec = parse(text, str(path))
    validate(spec, base_dir=path.parent if check_files else None, allow_import=allow_import, source=str(path))
    return spec


def validate(spec: dict, *, base_dir=None, allow_import: bool = False, source: str | None = None) -> None:
    """Check ``spec`` against the schema, then the rules a schema cannot say.

    Args:
        spec: the parsed spec.
        base_dir: folder that relative data paths resolve against; ``None`` skips file checks.
        allow_import: whether "module:function" losses and metrics may be imported.
        source: file name used in the error message.

    Raises:
        SpecError: with every problem found.

    Example:
        >>> bad = {"format": "pymodel.spec/1", "model": {"layers": [{"type": "Dense", "units": -3}]}}
        >>> try:
        ...     validate(bad)
        ... except SpecError as e:
        ...     print(e.errors[0])
        /model/layers/0/units: -3 is less than the minimum of 1
    """
    issues = schema_issues(spec)
    if not issues:
        issues = list(_semantic_issues(spec, base_dir, allow_import))
    if issues:
        raise SpecError(issues, source)


def schema_issues(instance: Any) -> list[Issue]:
    """Every schema violation, one (jsonschema's best match) per place, sorted by pointer."""
    groups: dict[tuple, list[ValidationError]] = {}
    for error in _validator().iter_errors(instance):
        groups.setdefault(tuple(error.absolute_path), []).append(error)
    issues: list[Issue] = []
    for path in sorted(groups, key=lambda p: [str(x).zfill(8) if isinstance(x, int) else x for x in p]):
        issues.extend(_render(best_match(groups[path])))
    return list(dict.fromkeys(issues))


def _render(error: ValidationError) -> list[Issue]:
    path = list(error.absolute_path)
    v, inst, sch = error.validator, error.instance, error.schema
    if v == "additionalProperties":
        allowed = sorted(sch.get("properties", {}))
        extras = [k for k in inst if k not in sch.get("properties", {})]
        return [Issue(pointer(path + [k]), f"unknown key {k!r}{_did_you_mean(k, allowed)}") for k in extras]
    if v == "enum":
        title = sch.get("title", "value")
        choices = [c for c in error.validator_value if c is not None]
        if isinstance(inst, str):
            hint = _did_you_mean(inst, choices)
            if not hint and len(choices) <= 8:
                hint = f"; expected one of {', '.join(map(repr, choices))}"
            return [Issue(pointer(path), f"unknown {title} {inst!r}{hint}")]
        return [Issue(pointer(path), f"{title} must be one of {', '.join(map(repr, choices))}; got {_show(inst)}")]
    if v == "required":
        missing = [k for k in error.validator_value if k not in inst]
        return [Issue(pointer(path), f"missing required key {k!r}") for k in missing]
    if v == "type":
        want = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return [Issue(pointer(path), f"expected {' or '.join(want)}, got {_type_name(inst)} {_show(inst)}")]
    if v == "const":
        return [Issue(pointer(path), f"expected {error.validator_value!r}, got {_show(inst)}")]
    if v == "pattern":
        return [Issue(pointer(path), _pattern_message(inst, error.validator_value))]
    if v == "not":  # the schema says why in the subschema's description
        keys = error.validator_value.get("required", [])
        where = path + keys if len(keys) == 1 else path
        return [Issue(pointer(where), error.validator_value.get("description", "not allowed here"))]
    if v == "oneOf" and isinstance(inst, dict):
        return [Issue(pointer(path), "give exactly one of 'type' or 'class_name'")]
    return [Issue(pointer(path), error.message)]


def _pattern_message(inst: Any, pattern: str) -> str:
    if "npy|npz|csv" in pattern:
        return f"unsupported data file {inst!r}: use a .npy, .npz or .csv file"
    if pattern.endswith(":[A-Za-z_][A-Za-z0-9_]*$"):
        return f"{inst!r} is not a 'module:function' name"
    if pattern.startswith("\\."):  # a file extension: \\.png$ or \\.(csv|npy)$
        extensions = pattern[2:-1].strip("()").split("|")
        return f"{inst!r} must end with {' or '.join('.' + e for e in extensions)}"
    return f"{inst!r} does not match the pattern {pattern!r}"


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    match = validation.closest(word, choices, cutoff=0.7)
    return f"; did you mean {match!r}?" if match else ""


def _type_name(x: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null",
            int: "integer", float: "number"}.get(type(x), type(x).__name__)


def _show(x: Any) -> str:
    text = json.dumps(x)
    return text if len(text) <= 40 else text[:37] + "..."


# -- rules the schema cannot say ------------------------------------------------------------------

def layer_entries(spec: dict) -> tuple[list, list]:
    """The model's layer list and its JSON path (either spec form)."""
    model = spec["model"]
    if "class_name" in model:
        cfg = model["config"]
        return (cfg, ["model", "config"]) if isinstance(cfg, list) else (cfg["layers"], ["model", "config", "layers"])
    return model["layers"], ["model", "layers"]


def is_custom_name(value: Any) -> bool:
    """Whether a loss/metric entry names Python code ("module:function")."""
    return isinstance(value, str) and ":" in value


def _semantic_issues(spec: dict, base_dir, allow_import: bool) -> Iterator[Issue]:
    layers, lpath = layer_entries(spec)
    for i, entry in enumerate(layers):
        kind = entry.get("class_name", entry.get("type"))
        if kind == "InputLayer" and i > 0:
            yield Issue(pointer(lpath + [i]), "an InputLayer can only be the first layer")
    compile_ = spec.get("compile", {})
    custom = [(["compile", "loss"], compile_.get("loss"))]
    custom += [(["compile", "metrics", i], m) for i, m in enumerate(compile_.get("metrics", []))]
    for path, value in custom:
        if is_custom_name(value) and not allow_import:
            yield Issue(pointer(path), f"{value!r} names Python code; a spec runs no code unless imports are "
                                       "allowed (--allow-import / allow_import=True)")
    fit = spec.get("fit", {})
    if fit.get("validation_split") and "validation" in spec.get("data", {}):
        yield Issue("/fit/validation_split", "give either fit.validation_split or data.validation, not both")
    if base_dir is not None:
        yield from _file_issues(spec.get("data", {}), pathlib.Path(base_dir))


def _file_issues(data: dict, base: pathlib.Path) -> Iterator[Issue]:
    for name, dataset in data.items():
        for key in ("csv", "x", "y"):
            src = dataset.get(key)
            path = src if isinstance(src, str) else src.get("path") if isinstance(src, dict) else None
            if path is None:
                continue
            where = ["data", name, key] + ([] if isinstance(src, str) else ["path"])
            if pathlib.PurePath(path).is_absolute():
                yield Issue(pointer(where), f"data paths must be relative to the spec's folder; got {path!r}")
            elif not (base / path).is_file():
                yield Issue(pointer(where), f"data file {path!r} not found (looked in {base / path})")

