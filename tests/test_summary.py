"""summary(): the Keras 2.10-2.12 text, column positions, wrapping, show_trainable, totals."""
import numpy as np
import pytest

import pymodel as keras
from pymodel import layers
from pymodel.models.summary import format_row


@pytest.fixture(autouse=True)
def fresh_names():
    keras.backend.clear_session()


def text(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return lines


def test_rows_are_65_columns_with_blank_lines_after_each_layer():
    model = keras.models.Sequential([layers.Dense(64, activation="relu", input_shape=(10,)),
                                     layers.Dropout(.5), layers.Dense(1, activation="sigmoid")])
    lines = text(model)
    assert lines[4] == " dense (Dense)               (None, 64)                704       "
    assert lines[5] == " " * 65
    assert lines[6] == " dropout (Dropout)           (None, 64)                0         "
    assert lines[9] == " " * 65 and lines[10] == "=" * 65
    assert lines[11:] == ["Total params: 769", "Trainable params: 769",
                          "Non-trainable params: 0", "_" * 65]
    assert all(len(line) == 65 for line in lines[1:11])


def test_totals_use_thousands_separators_without_byte_sizes():
    model = keras.models.Sequential([layers.Dense(1000, input_dim=784), layers.Dense(10)])
    assert "Total params: 795,010" in text(model)


def test_show_trainable_adds_an_11_column_trainable_cell():
    model = keras.models.Sequential([layers.Dense(2, input_dim=3, trainable=False),
                                     layers.Dense(1)])
    lines = text(model, show_trainable=True)
    assert lines[2] == " Layer (type)                Output Shape              Param #   Trainable  "
    assert lines[4] == " dense (Dense)               (None, 2)                 8         N          "
    assert lines[6].endswith("Y          ") and len(lines[5]) == 76
    assert lines[-4:-1] == ["Total params: 11", "Trainable params: 3", "Non-trainable params: 8"]


def test_long_cells_wrap_onto_the_next_line():
    # Keras counts the leading blank outside the cutoff, so a full first cell pushes the row by one.
    assert format_row(["a_very_long_layer_name_beyond_the_column (Dense)", "(None, 1)", 5],
                      [29, 55, 65]) == [
        " a_very_long_layer_name_beyo  (None, 1)                5         ",
        " nd_the_column (Dense)                                           "]


def test_positions_and_line_length_are_honoured():
    model = keras.models.Sequential([layers.Dense(2, input_dim=3)])
    lines = text(model, line_length=40, positions=[.5, .8, 1.])
    assert lines[2:5] == [" Layer (type)       Output Sha  Param # ",
                          "                    pe                  ", "=" * 40]
    assert lines[1] == "_" * 40 and lines[5] == " dense (Dense)      (None, 2)   8       "


def test_unbuilt_model_summary_raises_keras_error():
    with pytest.raises(ValueError, match="This model has not yet been built"):
        keras.models.Sequential([layers.Dense(2)]).summary()


def test_summary_prints_through_print_by_default(capsys):
    keras.models.Sequential([layers.Dense(2, input_dim=3)], name="tiny").summary()
    assert capsys.readouterr().out.startswith('Model: "tiny"\n' + "_" * 65 + "\n")


def test_deferred_model_shows_shapes_after_predict():
    model = keras.models.Sequential([layers.Dense(3)])
    model.predict(np.zeros((2, 4)), verbose=0)
    assert text(model)[4] == " dense (Dense)               (None, 3)                 15        "
