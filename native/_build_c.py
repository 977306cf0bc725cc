"""cffi out-of-line API-mode build of satnode's C kernels (run by ``pip install``, never at import).

setup.py names ``ffibuilder`` in ``cffi_modules``; setuptools compiles the extension
``native._satnode_c`` from every ``native/csrc/*.c`` file. A machine without a C compiler
fails here, at install, with a message saying what to install.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

from cffi import FFI

_HERE = Path(__file__).resolve().parent
_CSRC = _HERE / "csrc"


def _require_compiler() -> None:
    cc = os.environ.get("CC") or (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(cc) is None:
        sys.stderr.write(
            f"satnode: no C compiler found (looked for {cc!r}). satnode's native kernels are "
            "compiled at install time. Install gcc and the Python headers, for example "
            "'apt-get install gcc python3-dev' on Debian/Ubuntu, then install satnode again.\n"
        )
        raise SystemExit(1)


def _make_builder() -> FFI:
    builder = FFI()
    builder.cdef((_CSRC / "satnode.h").read_text())
    sources = sorted(str(p.relative_to(_HERE.parent)) for p in _CSRC.glob("*.c"))
    headers = sorted(str(p.relative_to(_HERE.parent)) for p in _CSRC.glob("*.h"))
    builder.set_source(
        "native._satnode_c",
        '#include <stddef.h>\n#include <stdint.h>\n#include "satnode.h"',
        sources=sources,
        depends=headers,
        include_dirs=[str(_CSRC.relative_to(_HERE.parent))],
        # Baseline x86-64 (or the platform default) only: SIMD variants are enabled per
        # function with __attribute__((target(...))) and picked at run time, so the built
        # image runs on any CPU of the architecture. Never -march=native.
        extra_compile_args=["-O3", "-std=gnu11", "-fno-strict-aliasing", "-Wall", "-Wextra"],
    )
    return builder


_require_compiler()
ffibuilder = _make_builder()

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
