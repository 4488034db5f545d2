"""Learning curves: `plot_history` draws a fit's History as a PNG (matplotlib, imported lazily)."""
from __future__ import annotations

import os
from typing import Mapping, Optional, Sequence, Union

_INSTALL_HINT = "plot_history needs matplotlib; install it with: pip install 'pymodel[plot]'"


def _figure_classes():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as e:
        raise ImportError(_INSTALL_HINT) from e
    return Figure, FigureCanvasAgg, MaxNLocator


def plot_history(
    history: Union[Mapping[str, Sequence[float]], "object"],
    path: Union[str, os.PathLike],
    *,
    keys: Optional[Sequence[str]] = None,
    validation_freq: int = 1,
    subplot_size: tuple = (4.0, 3.0),
    dpi: int = 100,
    title: Optional[str] = None,
) -> str:
    """Draws one subplot per quantity (loss, then each metric), training vs validation, into a PNG.

    Args:
        history: `History.history`-like dict of lists (`"loss"`, `"val_loss"`, ...), or a
            History object (its `.history` is used).
        path: Where to write the PNG.
        keys: Quantities to draw (default: every key without the `val_` prefix, in order).
        validation_freq: Epochs between validation runs, as given to fit, to place `val_`
            points when they are fewer than the training points.
        subplot_size: Size of one subplot in inches; the image is
            `len(keys) * subplot_size[0] * dpi` by `subplot_size[1] * dpi` pixels.
        dpi: Pixels per inch.
        title: Optional title above the subplots.

    Returns:
        The path written, as a string.

    Raises:
        ImportError: matplotlib is not installed (the message says how to get it).
        ValueError: the history holds nothing to draw.

    Example:
        >>> history = model.fit(x, y, epochs=3, validation_split=0.25, verbose=0)
        >>> plot_history(history, "curves.png")  # doctest: +SKIP
        'curves.png'
    """
    data = getattr(history, "history", history)
    keys = list(keys) if keys is not None else [k for k in data if not k.startswith("val_")]
    if not keys:
        raise ValueError(f"plot_history: the history has no quantity to draw. Received: keys={list(data)}")
    for key in keys:
        if key not in data:
            raise ValueError(f"plot_history: no {key!r} in the history (it has {list(data)}). Received: keys={keys}")
    Figure, FigureCanvasAgg, MaxNLocator = _figure_classes()
    width, height = subplot_size
    fig = Figure(figsize=(width * len(keys), height), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    for ax, key in zip(axes, keys):
        train = list(data[key])
        ax.plot(range(1, len(train) + 1), train, marker="." if len(train) < 30 else None, label="training")
        val = data.get("val_" + key)
        if val:
            step = validation_freq if len(val) < len(train) else 1
            ax.plot(range(step, step * len(val) + 1, step), list(val),
                    marker="." if len(val) < 30 else None, label="validation")
        ax.set_title(key)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = os.fspath(path)
    fig.savefig(path, format="png", dpi=dpi)
    return path
