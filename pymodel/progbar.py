"""Progbar: the Keras 2 text progress bar (tf_keras.utils.generic_utils.Progbar).

On a terminal (or in Jupyter) the bar is redrawn in place with the same bytes as
tf-keras (backspaces, then a carriage return). When stdout is not a terminal
(a log file, a pipe, CI) only finished bars are written, as plain lines with no
control characters; each line equals what tf-keras leaves on a terminal's screen.
"""
from __future__ import annotations

import math
import os
import sys
import time
from typing import Callable, Iterable, Optional

import numpy as np


def format_value(value: float, signed: bool = False) -> str:
    """Formats a metric value as Keras 2 does: 4 decimals, or scientific when tiny.

    NOTE: tf-keras tests |value| > 1e-3 on the verbose=1 bar but value > 1e-3 (`signed`)
    on the verbose=2 line, where negative values therefore print in scientific notation.
    """
    large = value > 1e-3 if signed else abs(value) > 1e-3
    return f"{value:.4f}" if large else f"{value:.4e}"


def format_time(seconds_per_unit: float, unit_name: str) -> str:
    """Formats a duration per unit: ' 3s/step', ' 12ms/step' or ' 250us/step'."""
    if seconds_per_unit >= 1 or seconds_per_unit == 0:
        return f" {seconds_per_unit:.0f}s/{unit_name}"
    if seconds_per_unit >= 1e-3:
        return f" {seconds_per_unit * 1e3:.0f}ms/{unit_name}"
    return f" {seconds_per_unit * 1e6:.0f}us/{unit_name}"


def format_eta(eta: float) -> str:
    """Formats a remaining time: '7s', '2:05' past a minute, '1:02:05' past an hour."""
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta


def _stdout_is_dynamic() -> bool:
    """True when the bar can be redrawn in place: a terminal, Jupyter or PyCharm's console."""
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        tty = bool(isatty and isatty())
    except ValueError:  # closed stream
        tty = False
    return tty or "ipykernel" in sys.modules or "PYCHARM_HOSTED" in os.environ


class Progbar:
    """Displays a progress bar.

    Args:
        target: Total number of steps expected, None if unknown.
        width: Progress bar width on screen.
        verbose: Verbosity mode, 0 (silent), 1 (verbose), 2 (semi-verbose).
        interval: Minimum visual progress update interval (in seconds).
        stateful_metrics: Names of metrics shown as given rather than averaged over time.
        unit_name: Display name for step counts (usually "step" or "sample").
        clock: Function returning the current time in seconds (default `time.time`);
            tests inject a fake clock to get deterministic text.
        dynamic_display: Redraw in place (True) or write finished lines only (False);
            default: True when stdout is a terminal or Jupyter.
    """

    def __init__(
        self,
        target: Optional[int],
        width: int = 30,
        verbose: int = 1,
        interval: float = 0.05,
        stateful_metrics: Optional[Iterable[str]] = None,
        unit_name: str = "step",
        clock: Optional[Callable[[], float]] = None,
        dynamic_display: Optional[bool] = None,
    ):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics) if stateful_metrics else set()
        self._clock = clock or time.time
        self._dynamic_display = _stdout_is_dynamic() if dynamic_display is None else dynamic_display
        self._total_width = 0
        self._seen_so_far = 0
        self._values: dict = {}
        self._values_order: list = []
        self._start = self._clock()
        self._last_update = 0.0
        self._time_at_epoch_start = self._start
        self._time_at_epoch_end = None
        self._time_after_first_step = None

    def update(self, current: int, values=None, finalize: Optional[bool] = None) -> None:
        """Updates the progress bar.

        Args:
            current: Index of current step.
            values: List of tuples `(name, value_for_last_step)`. Names in
                `stateful_metrics` are shown as given; others are averaged over steps.
            finalize: Whether this is the last update (default: `current >= target`).
        """
        if finalize is None:
            finalize = False if self.target is None else current >= self.target
        for k, v in values or []:
            if k not in self._values_order:
                self._values_order.append(k)
            if k not in self.stateful_metrics:
                # NOTE: at least 1, or a repeated `current` (epoch end after the
                # last batch, with an unknown target) would weigh the value by 0.
                value_base = max(current - self._seen_so_far, 1)
                if k not in self._values:
                    self._values[k] = [v * value_base, value_base]
                else:
                    self._values[k][0] += v * value_base
                    self._values[k][1] += value_base
            else:
                self._values[k] = [v, 1]
        self._seen_so_far = current

        now = self._clock()
        info = f" - {now - self._start:.0f}s"
        if current == self.target:
            self._time_at_epoch_end = now
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            prev_total_width = self._total_width
            bar = self._bar(current)
            self._total_width = len(bar)
            time_per_unit = self._estimate_step_duration(current, now)
            if self.target is None or finalize:
                info += format_time(time_per_unit, self.unit_name)
            else:
                info = f" - ETA: {format_eta(time_per_unit * (self.target - current))}"
            info += self._values_text()
            self._total_width += len(info)
            # NOTE: off a terminal, intermediate redraws are computed (they move the
            # step-time estimate exactly as on a terminal) but not written.
            if self._dynamic_display:
                message = "\b" * prev_total_width + "\r" + bar + info
                if prev_total_width > self._total_width:
                    message += " " * (prev_total_width - self._total_width)
                _write(message + ("\n" if finalize else ""))
            elif finalize:
                _write(bar + info + "\n")
        elif self.verbose == 2 and finalize:
            numdigits = int(math.log10(self.target)) + 1
            info = ("%" + str(numdigits) + "d/%d") % (current, self.target) + info
            info += self._values_text(signed=True)
            if self._time_at_epoch_end:
                time_per_epoch = self._time_at_epoch_end - self._time_at_epoch_start
                avg_time_per_step = time_per_epoch / self.target
                self._time_at_epoch_start = now
                self._time_at_epoch_end = None
                info += " -" + format_time(time_per_epoch, "epoch")
                info += " -" + format_time(avg_time_per_step, self.unit_name)
                info += "\n"
            _write(info)
        self._last_update = now

    def add(self, n: int, values=None) -> None:
        """Advances the bar by `n` steps."""
        self.update(self._seen_so_far + n, values)

    def _bar(self, current: int) -> str:
        if self.target is None:
            return "%7d/Unknown" % current
        numdigits = int(math.log10(self.target)) + 1
        bar = ("%" + str(numdigits) + "d/%d [") % (current, self.target)
        prog_width = int(self.width * (float(current) / self.target))
        if prog_width > 0:
            bar += "=" * (prog_width - 1)
            bar += ">" if current < self.target else "="
        bar += "." * (self.width - prog_width)
        return bar + "]"

    def _values_text(self, signed: bool = False) -> str:
        text = ""
        for k in self._values_order:
            total, count = self._values[k]
            avg = np.mean(total / max(1, count))  # values may be arrays: shown as their mean
            text += f" - {k}: {format_value(avg, signed)}"
        return text

    def _estimate_step_duration(self, current: int, now: float) -> float:
        """Seconds per step, leaving out the first step (which includes tracing/warm-up)."""
        if not current:
            return 0
        if self._time_after_first_step is not None and current > 1:
            time_per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            time_per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return time_per_unit

    def _update_stateful_metrics(self, stateful_metrics: Iterable[str]) -> None:
        self.stateful_metrics = self.stateful_metrics.union(stateful_metrics)


def _write(message: str) -> None:
    sys.stdout.write(message)
    sys.stdout.flush()
