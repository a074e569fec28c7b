"""The subordination solver: the least balance below a class (in the loss order, as a share of
the collateral) at which it survives a named stress, and `structure solve --subordination`."""

from __future__ import annotations

import json

import pytest
from conftest import DEALS_DIR

import structurer
from structurer.cli import main
from structurer.errors import InputError
from structurer.structuring.credit import SHARE_TOL, stress_scenario, subordination
from structurer.structuring.solve import rebuild

SENIOR_SUB = DEALS_DIR / "senior_sub.waterfall"
STRESS = "15 CPR 600 SDA severity 40% lag 12"


@pytest.fixture(scope="module")
def deal():
    return structurer.load(SENIOR_SUB)


@pytest.fixture(scope="module")
def solved(deal):
    return subordination(deal, "A", STRESS)


def _loss_of_a(deal, share: float, stress: str = STRESS) -> float:
    """A's write-downs under the stress with `share` of the collateral below it (M and B in
    their 3:2 proportion), built independently of the solver."""
    total = deal.collateral_balance
    sub = share / 100.0 * total
    sized = rebuild(deal, {"M": 0.6 * sub, "B": 0.4 * sub, "A": total - sub})
    got = sized.run(stress_scenario(sized, stress))
    return float(got.writedowns()[0, sized.tranche("A").index].sum())


def test_the_answer_is_a_boundary(deal, solved):
    assert solved.converged
    share = solved.value
    assert 0.0 < share < 10.0  # less than SS-01's own 10% survives this stress
    assert _loss_of_a(deal, share) < 1.0
    # A little less (twice the tolerance) and A takes a loss.
    assert _loss_of_a(deal, share - 2 * 100 * SHARE_TOL) >= 1.0
    assert solved.details["fails_at"] < share
    # The rebuilt deal keeps the collateral and the subordinates' proportions.
    sized = solved.deal
    assert sum(c.balance for c in sized.classes) == pytest.approx(deal.collateral_balance, abs=1e-3)
    assert sized.tranche("M").balance / sized.tranche("B").balance == pytest.approx(1.5)
    assert (sized.tranche("M").balance + sized.tranche("B").balance) / deal.collateral_balance == \
        pytest.approx(share / 100.0)


def test_a_harsher_stress_needs_more(deal, solved):
    harsher = subordination(deal, "A", "15 CPR 1200 SDA severity 40% lag 12")
    severer = subordination(deal, "A", "15 CPR 600 SDA severity 60% lag 12")
    assert harsher.value > solved.value + 1.0
    assert severer.value > solved.value + 1.0


def test_a_named_stress_and_the_yield_criterion(deal):
    named = subordination(deal, "A", "1600 SDA")
    assert named.details["stress"] == deal.scenarios["1600 SDA"].description
    assert _loss_of_a(deal, named.value, "1600 SDA") < 1.0
    # Surviving with a positive yield asks no more than surviving without a loss.
    by_yield = subordination(deal, "A", "1600 SDA", criterion="yield")
    assert by_yield.value <= named.value


def test_a_mezzanine_class_is_sized_against_the_classes_below_it(deal):
    got = subordination(deal, "M", "15 CPR 300 SDA severity 40% lag 12")
    assert got.details["subordinates"] == "B"
    sized = got.deal
    assert sized.tranche("A").balance == deal.tranche("A").balance  # the senior is not moved


def test_bad_requests(deal):
    with pytest.raises(InputError, match="first loss"):
        subordination(deal, "B", STRESS)
    with pytest.raises(InputError, match="no losses"):
        subordination(deal, "A", "15 CPR")
    with pytest.raises(InputError, match="'loss'"):
        subordination(deal, "A", STRESS, criterion="price")


def test_the_command(capsys):
    code = main(["solve", str(SENIOR_SUB), "--subordination", "A", "--stress", "800 SDA", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["solver"] == "subordination" and out["converged"]
    assert out["details"]["subordinates"] == "B, M"
    assert 0.0 < out["value"] < 10.0
    below = out["classes"]["M"]["balance"] + out["classes"]["B"]["balance"]
    assert below / 500_000_000 == pytest.approx(out["value"] / 100.0)
    assert main(["solve", str(SENIOR_SUB), "--subordination", "A"]) != 0
