"""Command line: ``python -m pymodel run|validate|summary|predict|plot``.

Exit codes: 0 ok; 2 bad spec or usage (errors one per line on stderr as
``/pointer: message``, no traceback); 1 a failure while running.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Any, Callable, Sequence

import numpy as np

from pymodel import data as data_io
from pymodel.spec import Issue, SpecError

__all__ = ["main", "run_spec", "UsageError"]

PLOT_HINT = "matplotlib is not installed, so no plot was drawn; get it with: pip install 'pymodel[plot]'"
_REGRESSION_LOSSES = {"mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
                      "mean_squared_logarithmic_error", "huber", "log_cosh"}


class UsageError(ValueError):
    """The command cannot run as asked (e.g. it would overwrite an existing output)."""


def _eprint(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _plotter() -> Callable | None:
    """``pymodel.plotting.plot_history`` if matplotlib (and the plotting module) can be imported."""
    try:
        import matplotlib  # noqa: F401

        from pymodel.plotting import plot_history
    except ImportError:
        return None
    return plot_history


def clear_session() -> None:
    from pymodel import backend
    backend.clear_session()


def _set_seed(seed: int) -> None:
    np.random.seed(seed)
    try:
        from pymodel import utils
        utils.set_random_seed(seed)
    except (ImportError, AttributeError):
        pass


def _output_paths(spec: dict, out_dir: pathlib.Path, predicting: bool) -> dict[str, pathlib.Path]:
    outputs = spec.get("outputs", {})
    names = {"history": outputs.get("history", "history.json"), "metrics": outputs.get("metrics", "metrics.json")}
    for key in ("model", "weights"):
        if key in outputs:
            names[key] = outputs[key]
    if "predictions" in outputs or predicting:
        names["predictions"] = outputs.get("predictions", "predictions.csv")
    plot = outputs.get("plot", True)
    if plot is not False and _plotter() is not None:
        names["plot"] = plot if isinstance(plot, str) else str(pathlib.PurePath(names["history"]).with_suffix(".png"))
    return {k: out_dir / v for k, v in names.items()}


def _r2(y: np.ndarray, p: np.ndarray) -> float:
    y = y.reshape(len(y), -1).astype(np.float64)
    p = p.reshape(len(p), -1).astype(np.float64)
    ss_res = ((y - p) ** 2).sum()
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum()
    return float(1.0 - ss_res / ss_tot) if ss_tot > 0 else float("nan")


def _callbacks(spec: dict, out_dir: pathlib.Path) -> list:
    entries = spec.get("fit", {}).get("callbacks", [])
    if not entries:
        return []
    from pymodel import callbacks

    built = []
    for i, entry in enumerate(entries):
        kwargs = {k: v for k, v in entry.items() if k != "type"}
        for key in ("filepath", "filename"):
            if key in kwargs:
                kwargs[key] = str(out_dir / kwargs[key])
        try:
            built.append(getattr(callbacks, entry["type"])(**kwargs))
        except (ValueError, TypeError) as e:
            raise SpecError([Issue(f"/fit/callbacks/{i}", str(e))]) from None
    return built


def run_spec(path, *, epochs: int | None = None, seed: int | None = None, output_dir=None,
             overwrite: bool = False, allow_import: bool = False, quiet: bool = False, progress: bool = True,
             print_fn: Callable[[str], None] = print) -> dict[str, Any]:
    """Validate, compile, fit, evaluate and predict as the spec at ``path`` says; write its outputs.

    Args:
        path: The spec file.
        epochs, seed: Override ``fit.epochs`` and the spec's ``seed``.
        output_dir: Folder for the outputs (default: the spec's folder).
        overwrite: Replace outputs that exist.
        allow_import: Allow "module:function" losses and metrics (runs their code).
        quiet: Print nothing. progress: Show the progress bar (``fit.verbose``).
        print_fn: Called with each line of the summary, metrics and "wrote ..." report.

    Returns:
        A JSON-able result: final history values, evaluation metrics per set, output paths, warnings.

    Raises:
        SpecError: the spec (or its data) is invalid.
        UsageError: an output exists and overwrite is off.

    Example:
        >>> result = run_spec("examples/xor.json", epochs=10, output_dir="/tmp/xor",
        ...                   overwrite=True, quiet=True)  # doctest: +SKIP
        >>> result["epochs"], sorted(result["outputs"])  # doctest: +SKIP
        (10, ['history', 'metrics', 'model', 'plot', 'predictions'])
    """
    from pymodel import compiler, saving
    from pymodel.spec import load

    path = pathlib.Path(path)
    spec = load(path, allow_import=allow_import)
    missing = [Issue(f"/{key}", f"`run` needs a {key} section") for key in ("compile", "data") if key not in spec]
    if missing:
        raise SpecError(missing, str(path))
    base = path.parent
    out_dir = pathlib.Path(output_dir) if output_dir is not None else base
    prepared = compiler.prepare(spec, base)

    outputs = _output_paths(spec, out_dir, prepared.x_predict is not None)
    overwrite = overwrite or spec.get("outputs", {}).get("overwrite", False)
    logs = [out_dir / c[k] for c in spec.get("fit", {}).get("callbacks", []) for k in ("filepath", "filename")
            if k in c and not c.get("append")]
    existing = [str(p) for p in [*outputs.values(), *logs] if p.exists()]
    if existing and not overwrite:
        raise UsageError(f"output already exists: {', '.join(existing)} (use --overwrite or outputs.overwrite)")
    out_dir.mkdir(parents=True, exist_ok=True)
    seed = seed if seed is not None else spec.get("seed")
    if seed is not None:
        _set_seed(seed)

    dtype = np.dtype(spec.get("dtype", "float32"))
    clear_session()  # each run names its layers afresh (dense, dense_1, ...), as a new process would
    model = compiler.to_model(prepared.graph, spec, allow_import=allow_import, base_dir=base)
    if not quiet:
        model.summary(print_fn=print_fn)
        _eprint(*(f"warning: {w}" for w in prepared.warnings))

    fit = {k: v for k, v in spec.get("fit", {}).items() if k != "callbacks"}
    if epochs is not None:
        fit["epochs"] = epochs
    if quiet or not progress:  # the progress bar writes to stdout
        fit["verbose"] = 0
    if "validation" in prepared.sets:
        fit["validation_data"] = tuple(a.astype(dtype) for a in prepared.sets["validation"])
    x, y = prepared.sets["train"]
    history = model.fit(x.astype(dtype), y.astype(dtype), callbacks=_callbacks(spec, out_dir) or None, **fit)
    hist = {k: [float(v) for v in values] for k, values in history.history.items()}

    batch_size = spec.get("evaluate", {}).get("batch_size")
    metrics = _evaluate(model, prepared.sets, dtype, batch_size, compiler.canonical_loss(spec["compile"]["loss"]))
    if "predictions" in outputs:
        # Predict on data.predict, else on the most held-out set there is.
        xs = prepared.x_predict if prepared.x_predict is not None else next(
            prepared.sets[k][0] for k in ("test", "validation", "train") if k in prepared.sets)
        data_io.save_array(outputs["predictions"], model.predict(xs.astype(dtype), batch_size=batch_size, verbose=0))
    saving.atomic_write(outputs["history"], lambda f: f.write(json.dumps(hist, indent=1).encode()))
    saving.atomic_write(outputs["metrics"], lambda f: f.write(json.dumps(metrics, indent=1).encode()))
    if "model" in outputs:
        saving.save_model(model, outputs["model"])
    if "weights" in outputs:
        saving.save_weights(model, outputs["weights"])
    if "plot" in outputs:
        _plotter()(hist, str(outputs["plot"]))
    elif spec.get("outputs", {}).get("plot", True) is not False and not quiet:
        _eprint(PLOT_HINT)
    written = {key: str(p) for key, p in outputs.items() if p.exists()}
    if not quiet:
        for name, values in metrics.items():
            print_fn(f"{name}: " + " - ".join(f"{k}: {v:.4f}" for k, v in values.items()))
        for key, p in written.items():
            print_fn(f"wrote {key}: {p}")
    return {"name": spec.get("name"), "epochs": len(history.epoch),
            "history": {k: v[-1] for k, v in hist.items() if v}, "metrics": metrics, "outputs": written,
            "warnings": [str(w) for w in prepared.warnings]}


def _evaluate(model, sets: dict, dtype, batch_size, loss_name: str | None) -> dict[str, dict[str, float]]:
    """Loss and metrics per dataset (train, validation, test); R^2 too when the loss is a regression loss."""
    metrics = {}
    for name, (xs, ys) in sets.items():
        xs, ys = xs.astype(dtype), ys.astype(dtype)
        values = model.evaluate(xs, ys, batch_size=batch_size, verbose=0, return_dict=True)
        metrics[name] = {k: float(v) for k, v in values.items()}
        if loss_name in _REGRESSION_LOSSES:
            metrics[name]["r2"] = _r2(ys, model.predict(xs, batch_size=batch_size, verbose=0))
    return metrics


# -- commands -----------------------------------------------------------------------------------

def _cmd_run(args) -> int:
    to_stderr = (lambda s: print(s, file=sys.stderr)) if args.json else print
    result = run_spec(args.spec, epochs=args.epochs, seed=args.seed, output_dir=args.output_dir,
                      overwrite=args.overwrite, allow_import=args.allow_import, quiet=args.quiet,
                      progress=not args.json, print_fn=to_stderr)
    if args.json:
        print(json.dumps(result))
    return 0


def _cmd_validate(args) -> int:
    from pymodel.compiler import prepare
    from pymodel.spec import load

    spec = load(args.spec, allow_import=args.allow_import)
    for warning in prepare(spec, pathlib.Path(args.spec).parent).warnings:
        _eprint(f"warning: {warning}")
    print(f"{args.spec}: valid")
    return 0


def _cmd_summary(args) -> int:
    from pymodel import compiler
    from pymodel.spec import load

    path = pathlib.Path(args.spec)
    spec = load(path, allow_import=args.allow_import)
    try:
        graph = compiler.build_graph(spec)
    except SpecError:  # no input size declared: take it from the training data, if any
        if "data" not in spec:
            raise
        x = data_io.load_dataset(spec["data"]["train"], path.parent, ["data", "train"])[0]
        graph = compiler.build_graph(spec, x.shape[1:])
    clear_session()
    model = compiler.to_model(graph, {k: v for k, v in spec.items() if k != "compile"})
    model.summary(print_fn=print)
    return 0


def _read_input(path: pathlib.Path) -> np.ndarray:
    if path.suffix.lower() == ".csv":
        return data_io.read_csv(path, ["INPUT"])[1]
    if path.suffix.lower() != ".npy":
        raise UsageError(f"{path}: input must be a .npy or .csv file")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise UsageError(f"{path}: cannot read ({e})") from None


def _cmd_predict(args) -> int:
    from pymodel.saving import load_model

    out = pathlib.Path(args.output) if args.output else None
    if out is not None and out.suffix.lower() not in (".npy", ".csv"):
        raise UsageError(f"{out}: output must be a .npy or .csv file")
    if out is not None and out.exists() and not args.overwrite:
        raise UsageError(f"output already exists: {out} (use --overwrite)")
    model = load_model(args.model, compile=False)
    x = _read_input(pathlib.Path(args.input))
    dtype = model.get_weights()[0].dtype if model.get_weights() else np.float32
    pred = model.predict(x.astype(dtype), batch_size=args.batch_size, verbose=0)
    if out is None:
        data_io.write_csv("/dev/stdout", pred)
    else:
        data_io.save_array(out, pred)
    return 0


def _cmd_plot(args) -> int:
    path = pathlib.Path(args.history)
    try:
        history = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UsageError(f"{path}: cannot read a history JSON ({e})") from None
    if isinstance(history, dict) and isinstance(history.get("history"), dict):
        history = history["history"]
    if not isinstance(history, dict) or not all(isinstance(v, list) for v in history.values()):
        raise UsageError(f"{path}: expected an object of metric name -> list of numbers")
    plot_history = _plotter()
    if plot_history is None:
        _eprint(PLOT_HINT)
        return 1
    plot_history(history, args.output)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser for all commands."""
    parser = argparse.ArgumentParser(prog="pymodel", description="Run, check and use pymodel JSON specs and models.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="validate, compile, train, evaluate and predict as a spec says",
                       description="Validate SPEC, compile it, print the summary, fit, evaluate, predict and write "
                                   "the outputs (paths relative to the spec's folder, or --output-dir).")
    p.add_argument("spec", metavar="SPEC", help="the spec JSON file")
    p.add_argument("--epochs", type=int, help="override fit.epochs")
    p.add_argument("--seed", type=int, help="override the spec's seed")
    p.add_argument("--output-dir", metavar="DIR", help="write outputs here instead of the spec's folder")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("--json", action="store_true", help="print a machine-readable result on stdout")
    p.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    p.add_argument("--allow-import", action="store_true", help="allow 'module:function' losses/metrics (runs code)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("validate", help="check a spec; list every problem",
                       description="Check SPEC against the schema and the compiler's rules. Exit 0 if valid, 2 if "
                                   "not, with one '/pointer: message' line per problem on stderr.")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("--allow-import", action="store_true", help="accept 'module:function' losses/metrics")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("summary", help="print the model summary of a spec", description="Print SPEC's model summary.")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("--allow-import", action="store_true", help="accept 'module:function' losses/metrics")
    p.set_defaults(func=_cmd_summary)

    p = sub.add_parser("predict", help="predict with a saved model",
                       description="Load MODEL (a file written by `run` or model.save) and predict on INPUT (.npy, "
                                   "or .csv with a header row of feature names).")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("input", metavar="INPUT")
    p.add_argument("-o", "--output", metavar="OUT", help=".npy or .csv file (default: CSV on stdout)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("plot", help="draw learning curves from a history JSON",
                       description="Draw the learning curves in HISTORY (written by `run`) to a PNG.")
    p.add_argument("history", metavar="HISTORY.json")
    p.add_argument("-o", "--output", metavar="PNG", required=True)
    p.set_defaults(func=_cmd_plot)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m pymodel`` and the ``pymodel`` script; returns the exit code.

    Commands: ``run SPEC``, ``validate SPEC``, ``summary SPEC``, ``predict MODEL INPUT -o OUT``,
    ``plot HISTORY.json -o PNG``; ``--help`` on each. Exit codes: 0 ok, 2 bad spec or usage
    (one ``/pointer: message`` line per problem on stderr), 1 a failure while running.

    Example:
        >>> main(["validate", "examples/xor.json"])  # doctest: +SKIP
        examples/xor.json: valid
        0
    """
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SpecError as e:
        _eprint(*(str(issue) for issue in e.errors))
        return 2
    except UsageError as e:
        _eprint(f"error: {e}")
        return 2
    except (ValueError, TypeError, OSError, RuntimeError, FloatingPointError) as e:
        _eprint(f"error: {e}")
        return 1
