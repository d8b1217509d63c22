"""Is a derivative's license compatible with everything it was built from?

The rules, each tested (tests/unit/test_compatibility.py):
- an ancestor that forbids derivatives (ND) flags any derivative;
- non-commercial (NC) terms propagate: a derivative that allows commercial use is flagged;
- share-alike (SA, copyleft) requires the derivative to use the same license;
- use-based restrictions (OpenRAIL, Llama, Gemma) must carry over to the derivative;
- permissive ancestors allow anything; attribution duties are listed, not flagged;
- an unknown, custom ("other") or missing license means "needs review", never "fine".

An SPDX expression counts as its alternatives (OR: the licensee picks the most lenient) of
conjunctions (AND: every license applies).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelcommons.errors import InvalidInputError
from modelcommons.licensing.terms import (
    LicenseTerms,
    license_options,
    license_terms,
    normalize_license,
)

OK, REVIEW, FLAGGED = "ok", "needs_review", "flagged"
_SEVERITY = {OK: 0, REVIEW: 1, FLAGGED: 2}


@dataclass(frozen=True)
class Ancestor:
    """Something a model was built from: a base model (at any depth) or a dataset."""

    name: str
    license: str | None
    path: str  # how it is reached, e.g. "base model of acme/base-ft"
    # The viewer may not see it: its verdict counts, but reasons name neither it nor its
    # license (`name` then says what it is, e.g. "a base you cannot see").
    hidden: bool = False


@dataclass
class Verdict:
    status: str = OK
    reasons: list[str] = field(default_factory=list)
    obligations: list[str] = field(default_factory=list)

    def add(self, status: str, reason: str) -> None:
        if _SEVERITY[status] > _SEVERITY[self.status]:
            self.status = status
        self.reasons.append(reason)

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "reasons": self.reasons, "obligations": self.obligations}


@dataclass(frozen=True)
class _Combined:
    """The terms of licenses that all apply at once (an AND)."""

    ids: tuple[str, ...]
    commercial_use: bool
    derivatives: bool
    share_alike: tuple[str, ...]
    attribution: bool
    use_restrictions: bool

    @classmethod
    def of(cls, terms: list[LicenseTerms]) -> _Combined:
        return cls(
            ids=tuple(t.id for t in terms),
            commercial_use=all(t.commercial_use for t in terms),
            derivatives=all(t.derivatives for t in terms),
            share_alike=tuple(t.id for t in terms if t.share_alike),
            attribution=any(t.attribution for t in terms),
            use_restrictions=any(t.use_restrictions for t in terms),
        )


def _options(license_id: str | None) -> list[_Combined] | None:
    """The license's alternatives, or None when any part is unknown or custom."""
    options = license_options(license_id)
    if options is None or any(t.id == "other" for terms in options for t in terms):
        return None
    return [_Combined.of(terms) for terms in options]


def _problems(ancestor: _Combined, derivative: _Combined) -> list[str]:
    found = []
    if not ancestor.derivatives:
        found.append(f"{'+'.join(ancestor.ids)} forbids derivatives")
    if not ancestor.commercial_use and derivative.commercial_use:
        found.append(
            f"{'+'.join(ancestor.ids)} is non-commercial, but {'+'.join(derivative.ids)} "
            "allows commercial use"
        )
    for share_alike in ancestor.share_alike:
        if share_alike not in derivative.ids:
            found.append(
                f"{share_alike} is share-alike: derivatives must use {share_alike}, "
                f"not {'+'.join(derivative.ids)}"
            )
    if ancestor.use_restrictions and not derivative.use_restrictions:
        found.append(
            f"{'+'.join(ancestor.ids)} has use-based restrictions that "
            f"{'+'.join(derivative.ids)} does not carry over"
        )
    return found


def check(license_id: str | None, ancestors: list[Ancestor]) -> Verdict:
    """The verdict for a model under `license_id` built from `ancestors`."""
    verdict = Verdict()
    mine = _options(license_id)
    if license_id is None:
        verdict.add(REVIEW, "This repo declares no license.")
    elif license_id == "other":
        verdict.add(REVIEW, "Custom license ('other'): a person must read its license file.")
    elif mine is None:
        verdict.add(REVIEW, f"{license_id} is not a license the hub knows: a person must review.")
    for ancestor in ancestors:
        theirs = _options(ancestor.license)
        where = f"{ancestor.name} ({ancestor.path})"
        if ancestor.license is None:
            verdict.add(REVIEW, f"{where} declares no license.")
            continue
        if theirs is None:
            shown = "a license" if ancestor.hidden else ancestor.license
            verdict.add(REVIEW, f"{where} is under {shown}, which needs review.")
            continue
        if mine is None:
            continue
        # The licensee may take the ancestor under its most lenient alternative; every
        # alternative the derivative offers must respect it.
        best = min((sorted({p for d in mine for p in _problems(a, d)}) for a in theirs), key=len)
        if best and ancestor.hidden:
            best = [f"its license's terms are not met by {license_id}"]
        for problem in best:
            verdict.add(FLAGGED, f"{where}: {problem}.")
        if not best and any(a.attribution for a in theirs):
            terms = "its license asks for it" if ancestor.hidden else ancestor.license
            verdict.obligations.append(f"Credit {ancestor.name} ({terms}).")
    if verdict.status == OK and not verdict.reasons:
        verdict.reasons.append(
            "Compatible with every ancestor." if ancestors else "No ancestors to check against."
        )
    return verdict


def derive_license(inputs: list[str | None], chosen: str | None = None) -> tuple[str, str]:
    """The license for a new derivative of `inputs` (its base's and its data's licenses), and
    why. A chosen license is checked by the rules above; without one, the most constraining
    input's carries over (share-alike, then non-commercial, then the first). An incompatible
    choice is refused before anything is pushed; unknown inputs give "other" (needs review)."""
    known = [n for n in (normalize_license(i) for i in inputs) if n]
    ancestors = [Ancestor(lic, lic, "input") for lic in known]
    if chosen:
        candidate, why = normalize_license(chosen) or "other", "chosen by the author"
    else:
        terms = [t for t in (license_terms(k) for k in known) if t is not None]
        constraining = [t for t in terms if t.share_alike] or [
            t for t in terms if not t.commercial_use
        ]
        candidate = (constraining or terms)[0].id if terms else "other"
        why = "carried over from the inputs" if terms else "no input declares a known license"
    verdict = check(candidate, ancestors)
    if verdict.status == FLAGGED:
        raise InvalidInputError(" ".join(verdict.reasons) + " Nothing is pushed.")
    if verdict.status == REVIEW:
        return candidate, "needs review: " + " ".join(verdict.reasons)
    return candidate, why + ", compatible with the inputs"
