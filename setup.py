"""Build hook for what pyproject.toml cannot say: the cffi extension and the schemas package."""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["pymodel", "pymodel.*"]) + ["pymodel.schemas"],
    cffi_modules=["pymodel/_build_ffi.py:ffibuilder"],
)
