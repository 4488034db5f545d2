"""plot_history writes a learning-curve PNG; without matplotlib it says how to install it."""
import struct
import sys

import pytest

from pymodel.callbacks import History
from pymodel.plotting import plot_history

HISTORY = {"loss": [0.9, 0.6, 0.4, 0.3], "accuracy": [0.5, 0.7, 0.8, 0.9],
           "val_loss": [1.0, 0.7, 0.5, 0.45], "val_accuracy": [0.4, 0.6, 0.7, 0.8]}


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    assert data[-8:-4] == b"IEND"
    return struct.unpack(">II", data[16:24])


def test_history_dict_becomes_a_png_with_one_subplot_per_quantity(tmp_path):
    out = plot_history(HISTORY, tmp_path / "curves.png")
    assert out == str(tmp_path / "curves.png")
    assert png_size(tmp_path / "curves.png") == (800, 300)  # 2 quantities x 4in x 100dpi, 3in high


def test_history_object_and_size_arguments_are_honoured(tmp_path):
    h = History()
    h.history = {"loss": [1.0, 0.5], "lr": [0.01, 0.001]}
    plot_history(h, tmp_path / "h.png", subplot_size=(3, 2), dpi=50, title="run")
    assert png_size(tmp_path / "h.png") == (300, 100)


def test_sparser_validation_points_are_drawn(tmp_path):
    plot_history({"loss": [1, 0.8, 0.6, 0.5], "val_loss": [0.9, 0.55]}, tmp_path / "v.png", validation_freq=2)
    assert png_size(tmp_path / "v.png") == (400, 300)


def test_unknown_key_is_named_in_the_error(tmp_path):
    with pytest.raises(ValueError, match="no 'mae' in the history"):
        plot_history(HISTORY, tmp_path / "x.png", keys=["mae"])
    assert not (tmp_path / "x.png").exists()


def test_without_matplotlib_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError) as e:
        plot_history(HISTORY, tmp_path / "x.png")
    assert str(e.value) == "plot_history needs matplotlib; install it with: pip install 'pymodel[plot]'"
    assert "\n" not in str(e.value)
