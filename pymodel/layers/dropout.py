"""``Dropout``: inverted dropout while training (``x * mask / (1 - rate)``), identity otherwise."""
from __future__ import annotations

import numbers

from pymodel._native import aligned
from pymodel.layers.base import Layer


class Dropout(Layer):
    """Randomly zeroes a fraction ``rate`` of the inputs while training (Keras 2 ``Dropout``).

    Kept inputs are scaled by ``1 / (1 - rate)``; in evaluate and predict (``training=False``)
    the layer passes its input through. The mask comes from a C random state seeded from
    ``seed`` or, without one, from the model's generator when the layer is built.

    Args:
        rate: Fraction of the inputs to drop, in [0, 1].
        noise_shape: Shape of the mask, broadcast over the input (``None`` entries: the input's).
        seed: Seed of this layer's masks.

    Raises:
        ValueError: ``rate`` is outside [0, 1].

    Example:
        >>> layer = keras.layers.Dropout(0.5, seed=1)
        >>> out = layer(np.ones((2, 4), "float32"), training=True)
        >>> sorted(set(out.ravel().tolist())) in ([0.0, 2.0], [0.0], [2.0])
        True
        >>> layer(np.ones((2, 4), "float32")).tolist()  # inference: identity
        [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, numbers.Real) and not 0 <= rate <= 1:
            raise ValueError(f"Invalid value {rate} received for `rate`, expected a value "
                             "between 0 and 1.")
        if noise_shape is not None:
            raise ValueError(f"pymodel's Dropout supports noise_shape=None only. "
                             f"Received: noise_shape={noise_shape}")
        self.rate, self.noise_shape, self.seed = rate, noise_shape, seed
        self._state = None

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}

    def _random_state(self):
        if self._state is None:
            from pymodel._native import dropout
            if self.seed is not None:
                seed = int(self.seed)
            else:
                if self._rng is None:
                    from pymodel.utils import make_generator
                    self._rng = make_generator()
                seed = int(self._rng.integers(0, 2**63 - 1))
            self._state = dropout.Rng(seed)
        return self._state

    def build(self, input_shape) -> None:
        self._random_state()
        self.built = True

    def buffers(self, rows, input_shape) -> dict:
        shape = (rows,) + tuple(input_shape)
        return {"y": aligned.empty(shape, self.dtype), "mask": aligned.empty(shape, self.dtype),
                "dx": aligned.empty(shape, self.dtype)}

    def forward(self, buf, x, training):
        if not training or self.rate == 0:
            return x
        from pymodel._native import dropout
        y, _ = dropout.forward(x, float(self.rate), self._random_state(), mask=buf["mask"],
                               y=buf["y"])
        return y

    def backward(self, buf, x, dy, need_dx, from_logits=False):
        if self.rate == 0:
            return dy
        from pymodel._native import dropout
        return dropout.backward(buf["mask"], dy, out=buf["dx"])
