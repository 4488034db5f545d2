"""examples/keras_fundamentals.py (the seed notebook, import changed) runs and learns XOR."""
import pathlib
import runpy

import numpy as np

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "keras_fundamentals.py"
SUMMARY = """\
Model: "sequential"
_________________________________________________________________
 Layer (type)                Output Shape              Param #   
=================================================================
 dense (Dense)               (None, 4)                 16        
                                                                 
 dense_1 (Dense)             (None, 1)                 5         
                                                                 
=================================================================
Total params: 21
Trainable params: 21
Non-trainable params: 0
_________________________________________________________________
"""


def test_seed_notebook_prints_keras_summary_and_learns_xor(capsys):
    import pymodel
    pymodel.backend.clear_session()
    source = EXAMPLE.read_text()
    assert "import pymodel as keras" in source and "import keras" not in source.replace(
        "import pymodel as keras", "")
    env = runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert out.startswith(SUMMARY)
    predictions = env["model"].predict(env["X"], verbose=0)
    assert np.round(predictions).ravel().tolist() == [0, 1, 1, 0]
    assert np.round(env["custom_model"].predict(env["X"], verbose=0)).ravel().tolist() == \
        [0, 1, 1, 0]

