"""Minimal setup script: only here to hook the native builds into the install (cffi's
out-of-line module of every kernel, and the small CPython-API module of the codec's hot path).

Everything else about the distribution lives in pyproject.toml.
"""

from setuptools import Extension, setup

# native._satnode_fast: the CPython-API call path of the CRC-16 kernel for the TM/TC codec
# (native/csrc_py/fast.c), linked from the same kernel sources as the cffi module.
_FAST = Extension(
    "native._satnode_fast",
    sources=[
        "native/csrc_py/fast.c",
        "native/csrc/crc.c",
        "native/csrc/cpu.c",
        "native/csrc/version.c",
    ],
    depends=["native/csrc/satnode.h", "native/csrc/kernels.h", "native/csrc/crc_tables.h"],
    include_dirs=["native/csrc"],
    # As the cffi build (baseline ISA, SIMD variants chosen at run time; never -march=native);
    # hidden visibility: the module exports only PyInit__satnode_fast.
    extra_compile_args=[
        "-O3",
        "-std=gnu11",
        "-fno-strict-aliasing",
        "-Wall",
        "-Wextra",
        "-fvisibility=hidden",
    ],
)

setup(cffi_modules=["native/_build_c.py:ffibuilder"], ext_modules=[_FAST])
