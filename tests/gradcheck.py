"""Whole-model gradient check: the gradients a training step computes against central
finite differences of ``test_on_batch`` (float64 models)."""
import numpy as np

import pymodel as keras


def assert_gradients_match(model, x, y, loss, sample_weight=None):
    """Every variable's gradient from ``train_on_batch`` (at learning rate 0, which must leave
    the weights as they were) equals the central difference of the loss, to 1e-6."""
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss=loss)
    before = model.get_weights()
    model.train_on_batch(x, y, sample_weight=sample_weight)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    analytic = [g.copy() for layer in model.layers for g in layer.gradients]
    h = 1e-6
    for weight, grad in zip(model.weights, analytic):
        numeric = np.empty_like(grad)
        for i in np.ndindex(weight.shape):
            keep = weight[i]
            weight[i] = keep + h
            up = model.test_on_batch(x, y, sample_weight=sample_weight)
            weight[i] = keep - h
            down = model.test_on_batch(x, y, sample_weight=sample_weight)
            weight[i] = keep
            numeric[i] = (up - down) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8, err_msg=weight.name)
