"""Build hook for what pyproject.toml cannot say: the cffi extension and the schemas package."""
from setuptools import setup

setup(
    packages=["pymodel", "pymodel._native", "pymodel.schemas"],
    cffi_modules=["pymodel/_build_ffi.py:ffibuilder"],
)
