"""Keras 2 ``models``: ``Sequential``, ``model_from_json``, ``model_from_config``."""
from pymodel.models.sequential import Sequential
from pymodel.models.serialization import model_from_config, model_from_json
from pymodel.saving import load_model

Model = Sequential

__all__ = ["Sequential", "Model", "model_from_json", "model_from_config", "load_model"]
