"""The E-value against the published formulas and the EValue package's worked examples."""

from __future__ import annotations

import pytest

from mgsurv.stats.evalue import evalue, hazard_ratio_evalue, risk_ratio


def test_evalues_hr_worked_example_of_the_evalue_package():
    """EValue 2.0's evalues.HR(0.56, 0.46, 0.69, rare = FALSE), as its reference page prints
    it: RR 0.670084 (0.585935, 0.7735267), E-values 2.349531 and 1.9080039."""
    found = hazard_ratio_evalue(0.56, 0.46, 0.69, common=True)
    assert (found.rr, found.rr_lower, found.rr_upper) == pytest.approx(
        (0.670084, 0.585935, 0.7735267), abs=5e-7
    )
    assert (found.point, found.ci) == pytest.approx((2.349531, 1.9080039), abs=5e-7)


def test_published_examples_of_vanderweele_and_ding_2017():
    """The paper's risk ratios: RR 3.9 (CI 1.8-8.7) has E-values 7.26 and 3.00; the leukaemia
    example RR 0.80 (0.71-0.91), 1.81 and 1.43."""
    assert evalue(3.9) == pytest.approx(7.26, abs=0.005)
    assert evalue(1.8) == pytest.approx(3.00, abs=0.005)
    leukaemia = hazard_ratio_evalue(0.80, 0.71, 0.91, common=False)
    assert (leukaemia.point, leukaemia.ci) == pytest.approx((1.81, 1.43), abs=0.005)


def test_a_ci_including_1_has_e_value_1_and_a_rare_outcome_keeps_the_hr():
    found = hazard_ratio_evalue(1.4, 0.9, 2.2, common=False)
    assert (found.rr, found.ci) == (1.4, 1.0)
    assert found.point == pytest.approx(1.4 + (1.4 * 0.4) ** 0.5)
    assert risk_ratio(1.0, common=True) == pytest.approx(1.0)
    assert evalue(0.5) == evalue(2.0)
