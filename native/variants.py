"""The CPU variants of the C kernels, by name: what benchmarks and tests compare.

The C extension picks the best variant for the CPU at run time (never ``-march=native``).
Benchmarks time each variant the CPU supports, and the tests hold every variant to the NumPy
reference, so they need to call a variant by number and to name it:

- :data:`SECDED_C_VARIANTS`: SECDED scrub variant number -> name (``table``, ``avx2``...);
- :func:`scrub_c`: the SECDED scrub on a chosen variant (``impl``; 0 = best);
- :func:`crc16_c_variant`, :func:`crc32c_c_variant`: the name of the CRC variant in use.
"""

from __future__ import annotations

from native._crc import crc16_c_variant, crc32c_c_variant
from native._secded import SECDED_C_VARIANTS, scrub_c

__all__ = ["SECDED_C_VARIANTS", "crc16_c_variant", "crc32c_c_variant", "scrub_c"]
