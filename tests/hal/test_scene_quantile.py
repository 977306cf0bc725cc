"""The synthetic scenes' quantile against ``np.quantile`` (method ``linear``, the peer): the
scenes' thresholds, hence every generated tile, must not change by a bit."""

from __future__ import annotations

import numpy as np
import pytest

from hal.sim._scenes import quantile_linear


@pytest.mark.parametrize("n", [1, 2, 3, 17, 4096])
def test_quantile_linear_is_numpy_quantile_bit_for_bit(n: int) -> None:
    rng = np.random.default_rng(n)
    qs = [0.0, 1.0, 0.5, 1e-12, 1 - 1e-12, *rng.random(200).tolist()]
    for k, q in enumerate(qs):
        a = rng.standard_normal(n) * 10.0 ** rng.integers(-3, 4)
        if k % 5 == 0:
            a = np.round(a, 1)  # repeated values
        field = a.reshape(64, 64) if n == 4096 else a
        assert quantile_linear(field, q) == float(np.quantile(field, q))
        assert np.array_equal(np.ravel(field), a)  # the input is left as it was
