"""Pooling per-cohort log HRs against R metafor 3.8 (tests/reference/meta.R).

Tolerances: estimates, SEs, CI limits, z, Q, I^2 and tau^2 1e-12 relative (closed-form
sums; the fixtures hold 15 significant digits); p-values 1e-10 relative.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mgsurv.stats.pooling import pool
from support import REFERENCE

FIXTURE = json.loads((REFERENCE / "fixtures" / "meta.json").read_text())
CASES = [name for name in FIXTURE if name != "versions"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method", ["fixed", "random"])
def test_pooling_equals_metafor(case, method):
    data = FIXTURE[case]
    fixed, random = pool(data["yi"], data["sei"])
    result = {"fixed": fixed, "random": random}[method]
    expected = data[method]
    assert result.k == len(data["yi"]) and result.q_df == expected["q_df"]
    for key in ("estimate", "se", "lower", "upper", "z", "q", "i2_percent", "tau2"):
        np.testing.assert_allclose(
            getattr(result, key), expected[key], rtol=1e-12, atol=1e-15, err_msg=key
        )
    for key in ("p", "q_p"):
        np.testing.assert_allclose(getattr(result, key), expected[key], rtol=1e-10, err_msg=key)


def test_missing_estimates_are_left_out_and_one_cohort_cannot_be_pooled():
    data = FIXTURE["two_cohorts"]
    fixed, _ = pool([*data["yi"], float("nan")], [*data["sei"], 0.3])
    assert fixed.k == 2
    np.testing.assert_allclose(fixed.estimate, data["fixed"]["estimate"], rtol=1e-12)
    alone, alone_random = pool([0.3], [0.1])
    assert alone.k == 1 and math.isnan(alone.estimate) and math.isnan(alone_random.q)
