"""Minimal setup script: only here to hook cffi's out-of-line build into the install.

Everything else about the distribution lives in pyproject.toml.
"""

from setuptools import setup

setup(cffi_modules=["native/_build_c.py:ffibuilder"])
