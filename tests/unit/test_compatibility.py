"""The license compatibility rules, one by one (licensing.compatibility)."""

from __future__ import annotations

import pytest

from modelcommons.errors import InvalidInputError
from modelcommons.licensing.compatibility import (
    FLAGGED,
    OK,
    REVIEW,
    Ancestor,
    check,
    derive_license,
)


def _base(license_id: str | None, name: str = "acme/base") -> Ancestor:
    return Ancestor(name, license_id, "base model")


@pytest.mark.parametrize("derivative", ["mit", "apache-2.0", "cc-by-nc-4.0", "gpl-3.0", "llama3"])
def test_permissive_bases_allow_any_derivative(derivative):
    verdict = check(derivative, [_base("apache-2.0")])
    assert verdict.status == OK, verdict.reasons
    assert verdict.obligations == ["Credit acme/base (apache-2.0)."]


def test_non_commercial_propagates():
    verdict = check("mit", [_base("cc-by-nc-4.0")])
    assert verdict.status == FLAGGED
    assert "non-commercial" in verdict.reasons[0] and "acme/base" in verdict.reasons[0]
    assert check("cc-by-nc-4.0", [_base("cc-by-nc-4.0")]).status == OK
    assert check("cc-by-nc-sa-4.0", [_base("cc-by-nc-4.0")]).status == OK


def test_no_derivatives_flags_everything():
    for derivative in ("mit", "cc-by-nd-4.0", "cc-by-nc-nd-4.0"):
        verdict = check(derivative, [_base("cc-by-nd-4.0")])
        assert verdict.status == FLAGGED and "forbids derivatives" in verdict.reasons[0]


def test_share_alike_requires_the_same_license():
    verdict = check("mit", [_base("gpl-3.0")])
    assert verdict.status == FLAGGED and "share-alike" in verdict.reasons[0]
    assert check("apache-2.0", [_base("cc-by-sa-4.0")]).status == FLAGGED
    assert check("gpl-3.0", [_base("gpl-3.0")]).status == OK
    assert check("agpl-3.0", [_base("gpl-3.0")]).status == FLAGGED  # not the same license


def test_use_restrictions_must_carry_over():
    assert check("mit", [_base("llama3.1")]).status == FLAGGED
    assert check("llama3.1", [_base("llama3.1")]).status == OK
    assert check("openrail", [_base("creativeml-openrail-m")]).status == OK


def test_unknown_means_needs_review_not_fine():
    assert check("mit", [_base(None)]).status == REVIEW
    assert check("mit", [_base("my-own-terms")]).status == REVIEW
    assert check("mit", [_base("other")]).status == REVIEW
    assert check(None, [_base("mit")]).status == REVIEW
    assert check("other", []).status == REVIEW


def test_the_whole_ancestry_counts_and_flags_win_over_review():
    ancestry = [
        _base("apache-2.0", "acme/finetune"),
        Ancestor("acme/root", "cc-by-nc-4.0", "base model of acme/finetune"),
        Ancestor("acme/data", None, "training data"),
    ]
    verdict = check("mit", ancestry)
    assert verdict.status == FLAGGED
    assert any("acme/root" in r and "non-commercial" in r for r in verdict.reasons)
    assert any("acme/data" in r for r in verdict.reasons)


def test_expressions_take_the_most_lenient_alternative_of_an_ancestor():
    assert check("mit", [_base("gpl-3.0 OR mit")]).status == OK
    assert check("mit", [_base("cc-by-nc-4.0 AND mit")]).status == FLAGGED
    # Every alternative the derivative offers must be compatible.
    assert check("gpl-3.0 OR mit", [_base("gpl-3.0")]).status == FLAGGED


def test_no_ancestors_is_fine_with_a_license():
    verdict = check("apache-2.0", [])
    assert verdict.status == OK and verdict.reasons == ["No ancestors to check against."]


def test_derived_licenses_carry_the_constraining_terms():
    assert derive_license(["apache-2.0", "cc-by-4.0"])[0] == "apache-2.0"
    assert derive_license(["apache-2.0", "cc-by-nc-4.0"])[0] == "cc-by-nc-4.0"
    assert derive_license(["gpl-3.0", "cc-by-4.0"])[0] == "gpl-3.0"
    assert derive_license(["mit"], "apache-2.0") == (
        "apache-2.0",
        "chosen by the author, compatible with the inputs",
    )
    license_id, reason = derive_license(["my-own-terms"])
    assert license_id == "other" and reason.startswith("needs review")
    with pytest.raises(InvalidInputError, match="non-commercial.*Nothing is pushed"):
        derive_license(["cc-by-nc-4.0"], "mit")
    with pytest.raises(InvalidInputError, match="forbids derivatives"):
        derive_license(["cc-by-nd-4.0"])
    with pytest.raises(InvalidInputError, match="non-commercial"):  # GPL must stay GPL
        derive_license(["gpl-3.0", "cc-by-nc-4.0"])
