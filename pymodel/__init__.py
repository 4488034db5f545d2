"""pymodel: Keras 2's API on a lean C core."""
__version__ = "0.1.0"
