"""Exception types shared by pymodel's Python layers.

Every error also subclasses the built-in exception that fits (ValueError,
TypeError), so Keras code that catches those keeps working.
"""
from __future__ import annotations


class PymodelError(Exception):
    """Base class of pymodel's own errors."""


class SpecError(ValueError, PymodelError):
    """A JSON spec is invalid; ``path`` is the JSON pointer as a tuple of keys."""

    def __init__(self, message: str, path: tuple = ()):
        super().__init__(message)
        self.path = tuple(path)


class NotBuiltError(ValueError, PymodelError):
    """A model or layer was used before its weights exist."""


class ResourceLimitError(ValueError, MemoryError, PymodelError):
    """A model or batch would need more memory than the machine has (refused before allocating)."""
