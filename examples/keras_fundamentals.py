"""Keras fundamentals, the seed notebook's code: only the import line changed.

Run: python examples/keras_fundamentals.py
"""
import numpy as np

import pymodel as keras

# --- 1. A first network: XOR with a two-layer perceptron ------------------------------
np.random.seed(42)

X = np.array([[0, 0, 1],
              [0, 1, 1],
              [1, 0, 1],
              [1, 1, 1]])
y = np.array([[0], [1], [1], [0]])

model = keras.models.Sequential()
model.add(keras.layers.Dense(4, input_dim=3, activation='sigmoid'))
model.add(keras.layers.Dense(1, activation='sigmoid'))
model.summary()

model.compile(optimizer=keras.optimizers.SGD(learning_rate=1), loss='mean_squared_error')
model.fit(X, y, epochs=1500, verbose=0)
print(model.predict(X))

# --- 2. Layers: Activation and Dropout -----------------------------------------------
x = np.array([[-2.0, -1.0, 0.0, 1.0, 2.0]])
print("relu:   ", keras.layers.Activation('relu')(x))
print("sigmoid:", keras.layers.Activation('sigmoid')(x))
print("tanh:   ", keras.layers.Activation('tanh')(x))
print("softmax:", keras.layers.Activation('softmax')(x))

dropout = keras.layers.Dropout(0.5)
ones = np.ones((2, 8), dtype='float32')
print("dropout (training): ", dropout(ones, training=True))
print("dropout (inference):", dropout(ones, training=False))

# --- 3. Loss functions ---------------------------------------------------------------
y_true = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
y_pred = np.array([[0.05, 0.9, 0.05], [0.1, 0.3, 0.6]])
print("mean_squared_error:      ", keras.losses.mean_squared_error(y_true, y_pred))
print("categorical_crossentropy:", keras.losses.categorical_crossentropy(y_true, y_pred))
print("binary_crossentropy:     ", keras.losses.binary_crossentropy(y_true, y_pred))


def custom_loss(y_true, y_pred):
    """Mean absolute error plus a small squared-error term, written with NumPy."""
    return np.mean(np.abs(y_true - y_pred) + 0.1 * np.square(y_true - y_pred), axis=-1)


print("custom_loss:             ", custom_loss(y_true, y_pred))

custom_model = keras.models.Sequential()
custom_model.add(keras.layers.Dense(4, input_dim=3, activation='sigmoid'))
custom_model.add(keras.layers.Dense(1, activation='sigmoid'))
custom_model.compile(optimizer=keras.optimizers.SGD(learning_rate=1), loss=custom_loss)
custom_model.fit(X, y, epochs=1500, verbose=0)
print("trained with custom_loss:", custom_model.predict(X, verbose=0).ravel())

# --- 4. Optimizers -------------------------------------------------------------------
for optimizer in [keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
                  keras.optimizers.Adagrad(learning_rate=0.1),
                  keras.optimizers.RMSprop(learning_rate=0.01),
                  keras.optimizers.Adam(learning_rate=0.01)]:
    m = keras.models.Sequential()
    m.add(keras.layers.Dense(4, input_dim=3, activation='sigmoid'))
    m.add(keras.layers.Dense(1, activation='sigmoid'))
    m.compile(optimizer=optimizer, loss='binary_crossentropy', metrics=['accuracy'])
    history = m.fit(X, y, epochs=500, verbose=0)
    print(f"{type(optimizer).__name__:8s} loss {history.history['loss'][-1]:.4f} "
          f"accuracy {history.history['accuracy'][-1]:.2f}")
