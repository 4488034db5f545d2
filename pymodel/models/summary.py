"""``model.summary()``: the Keras 2.10-2.12 table (tf-keras ``layer_utils.print_summary``).

Sequential layout: line length 65, columns ending at 29/55/65, a blank line of
65 spaces after every layer row, totals without byte sizes (``Total params: 21``).
"""
from __future__ import annotations

from typing import Callable

_BREAKS = ("),", "},", "],", "',")


def format_row(fields: list, positions: list[int]) -> list[str]:
    """The printed lines of one row; long cells wrap onto following lines as Keras wraps them."""
    left = [str(f) for f in fields]
    lines = []
    while any(left):
        line = ""
        for col in range(len(left)):
            start = positions[col - 1] if col > 0 else 0
            space = 2 if col != len(positions) - 1 else 0
            cutoff = positions[col] - start - space
            fit = left[col][:cutoff]
            candidates = [fit.find(b) + len(b) for b in _BREAKS if fit.find(b) >= 0]
            if candidates:
                cutoff = min(candidates)
                fit = fit[:cutoff]
            if col == 0:
                line += " "
            line += fit + " " * space
            left[col] = left[col][cutoff:]
            line += " " * (positions[col] - len(line))
        lines.append(line)
    return lines


def summary_lines(model, line_length=None, positions=None, show_trainable=False) -> list[str]:
    """Every line ``summary()`` prints for a built Sequential model."""
    line_length = line_length or 65
    positions = list(positions or [0.45, 0.85, 1.0])
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    header = ["Layer (type)", "Output Shape", "Param #"]
    if show_trainable:
        line_length += 11
        positions.append(line_length)
        header.append("Trainable")
    lines = [f'Model: "{model.name}"', "_" * line_length]
    lines += format_row(header, positions)
    lines.append("=" * line_length)
    for layer in model.layers:
        shape = layer.output_shape
        params = layer.count_params() if layer.built else "0 (unused)"
        row = [f"{layer.name} ({type(layer).__name__})",
               "multiple" if shape is None else str(tuple(shape)), params]
        if show_trainable:
            row.append("Y" if layer.trainable else "N")
        lines += format_row(row, positions)
        lines.append(" " * line_length)
    trainable = sum(int(w.size) for w in model.trainable_weights)
    total = sum(int(w.size) for w in model.weights)
    lines += ["=" * line_length, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}", "_" * line_length]
    return lines


def print_summary(model, line_length=None, positions=None, print_fn: Callable | None = None,
                  show_trainable=False) -> None:
    """Print the summary through ``print_fn`` (default ``print``), one call per line."""
    print_fn = print_fn or print
    for line in summary_lines(model, line_length, positions, show_trainable):
        print_fn(line)
