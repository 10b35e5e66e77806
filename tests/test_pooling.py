"""Pooling per-cohort log HRs against R metafor 3.8 (tests/reference/meta.R).

Every field of the fixed-effect, DerSimonian-Laird and REML-HKSJ results, for every case, is
compared with rma() + predict() + confint() to 1e-12 relative plus 1e-13 absolute, p-values
to 1e-10 relative (R's and scipy's tail functions are different code). The values (log HRs,
their SEs, tau^2, Q, I^2 in %) are of order 1e-3 to 1e2. The closed-form results agree to
rounding; the fixtures hold 15 significant digits (5e-15 relative). The iterative ones are
exact too: meta.R runs metafor's Fisher scoring until a step in tau^2 is below 1e-14 and
uniroot to 1e-15, pooling.py solves to machine precision. The absolute 1e-13 is for the exact
zeros (tau^2, Q-profile bounds), for results near 0 (an interval limit is a difference of
numbers of order 0.1, with an absolute error) and for a small tau^2's relative error. Measured:
at most 4e-15 apart in tau^2, 3e-12 relative (a prediction limit of 0.017), 2e-11 absolute
(an I^2 of 26%). A missing metafor value (JSON null, as the fixed effect's prediction
interval) must be NaN. metafor's default controls stop much earlier: that difference is
tested against metafor's own tolerances.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mgsurv.stats.pooling import FIXED, RANDOM_DL, RANDOM_REML_HKSJ, Pooled, pool
from support import REFERENCE

FIXTURE = json.loads((REFERENCE / "fixtures" / "meta.json").read_text())
CASES = [name for name in FIXTURE if name != "versions"]
# The fixture's fits, in pool()'s order.
FITS = {"fixed": FIXED, "random": RANDOM_DL, "reml_knha": RANDOM_REML_HKSJ}
P_VALUES = ("p", "q_p")
# metafor's default REML fit ends at a lower local maximum and takes tau^2 = 0 (meta.R).
METAFOR_STUCK = "reml_local_maxima"


def _pooled(case: str) -> dict[str, Pooled]:
    data = FIXTURE[case]
    return dict(zip(FITS, pool(data["yi"], data["sei"]), strict=True))


def _expected(value: float | None) -> float:
    return math.nan if value is None else value


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("fit", FITS)
def test_pooling_equals_metafor(case, fit):
    result, expected = _pooled(case)[fit], FIXTURE[case][fit]
    assert result.method == FITS[fit] and result.k == len(FIXTURE[case]["yi"])
    assert set(expected) == set(vars(result)) - {"method", "k"}
    for key, value in expected.items():
        rtol, atol = (1e-10, 0.0) if key in P_VALUES else (1e-12, 1e-13)
        np.testing.assert_allclose(
            getattr(result, key), _expected(value), rtol=rtol, atol=atol, err_msg=key
        )


@pytest.mark.parametrize("case", CASES)
def test_metafors_defaults_differ_by_less_than_its_tolerances(case):
    """rma() stops Fisher scoring once a step in tau^2 is below 1e-5; confint()'s uniroot
    stops within .Machine$double.eps^0.25 and searches tau^2 up to max(100, 10 tau^2), which
    it reports as the bound when the bound is beyond it. In METAFOR_STUCK its default fit is
    0, the REML estimate is not."""
    reml, default = _pooled(case)["reml_knha"], FIXTURE[case]["reml_knha_default"]
    if case == METAFOR_STUCK:
        assert default["tau2"] == 0 and reml.tau2 > 1e-3
    else:
        assert abs(reml.tau2 - default["tau2"]) < 1e-5
    search_limit = max(100.0, 10 * default["tau2"])
    for key in ("tau2_lower", "tau2_upper"):
        if default[key] == search_limit:
            assert getattr(reml, key) > search_limit, key
        else:
            assert abs(getattr(reml, key) - default[key]) < np.finfo(float).eps ** 0.25, key


def test_missing_estimates_are_left_out_and_one_cohort_cannot_be_pooled():
    data = FIXTURE["two_cohorts"]
    fixed, _, reml = pool([*data["yi"], float("nan")], [*data["sei"], 0.3])
    assert fixed.k == reml.k == 2
    np.testing.assert_allclose(fixed.estimate, data["fixed"]["estimate"], rtol=1e-12)
    np.testing.assert_allclose(reml.tau2_upper, data["reml_knha"]["tau2_upper"], rtol=1e-12)
    for alone in pool([0.3], [0.1]):
        assert alone.k == 1 and alone.q_df == 0
        assert all(math.isnan(value) for value in vars(alone).values() if type(value) is float)


def test_identical_estimates_have_no_hksj_uncertainty_as_in_metafor():
    """metafor takes s2w = 0 when sum w (y - mu)^2 <= .Machine$double.eps: for log HRs of 0.3
    and 0.3 (SEs 0.1, 0.2) rma(test = "knha") gives se 0, zval Inf, pval 0, CI and PI 0.3."""
    reml = pool([0.3, 0.3], [0.1, 0.2])[2]
    assert reml.tau2 == reml.se == reml.p == reml.tau2_upper == 0 and reml.z == math.inf
    assert reml.lower == reml.upper == reml.pi_lower == reml.pi_upper == reml.estimate == 0.3
