"""License data: SPDX id (or a known model license) → what it allows and asks.

hub.compatibility checks derivatives against these terms along a model's ancestry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from license_expression import OR, ExpressionError, Licensing


@dataclass(frozen=True)
class LicenseTerms:
    id: str
    name: str
    commercial_use: bool
    derivatives: bool
    share_alike: bool
    copyleft: bool
    attribution: bool
    use_restrictions: bool


def _t(
    id: str, name: str, com: bool, der: bool, sa: bool, cl: bool, att: bool, ur: bool
) -> LicenseTerms:
    return LicenseTerms(id, name, com, der, sa, cl, att, ur)


LICENSES: dict[str, LicenseTerms] = {
    t.id: t
    for t in [
        # id, name, commercial use, derivatives, share-alike, copyleft, attribution, use limits
        _t("apache-2.0", "Apache License 2.0", True, True, False, False, True, False),
        _t("mit", "MIT License", True, True, False, False, True, False),
        _t("bsd-2-clause", "BSD 2-Clause", True, True, False, False, True, False),
        _t("bsd-3-clause", "BSD 3-Clause", True, True, False, False, True, False),
        _t("isc", "ISC License", True, True, False, False, True, False),
        _t("unlicense", "The Unlicense", True, True, False, False, False, False),
        _t("cc0-1.0", "CC0 1.0", True, True, False, False, False, False),
        _t("cc-by-4.0", "CC BY 4.0", True, True, False, False, True, False),
        _t("cc-by-sa-4.0", "CC BY-SA 4.0", True, True, True, True, True, False),
        _t("cc-by-nc-4.0", "CC BY-NC 4.0", False, True, False, False, True, False),
        _t("cc-by-nc-sa-4.0", "CC BY-NC-SA 4.0", False, True, True, True, True, False),
        _t("cc-by-nd-4.0", "CC BY-ND 4.0", True, False, False, False, True, False),
        _t("cc-by-nc-nd-4.0", "CC BY-NC-ND 4.0", False, False, False, False, True, False),
        _t("gpl-3.0", "GNU GPL v3", True, True, True, True, True, False),
        _t("lgpl-3.0", "GNU LGPL v3", True, True, True, True, True, False),
        _t("agpl-3.0", "GNU AGPL v3", True, True, True, True, True, False),
        _t("mpl-2.0", "Mozilla Public License 2.0", True, True, True, True, True, False),
        _t("odc-by", "ODC Attribution License", True, True, False, False, True, False),
        _t("odbl", "Open Database License", True, True, True, True, True, False),
        _t("openrail", "OpenRAIL", True, True, False, False, True, True),
        _t("openrail++", "OpenRAIL++-M", True, True, False, False, True, True),
        _t("creativeml-openrail-m", "CreativeML OpenRAIL-M", True, True, False, False, True, True),
        _t("bigscience-openrail-m", "BigScience OpenRAIL-M", True, True, False, False, True, True),
        _t("llama2", "Llama 2 Community License", True, True, False, False, True, True),
        _t("llama3", "Llama 3 Community License", True, True, False, False, True, True),
        _t("llama3.1", "Llama 3.1 Community License", True, True, False, False, True, True),
        _t("gemma", "Gemma Terms of Use", True, True, False, False, True, True),
        _t("other", "Other (see the license file)", False, False, False, False, True, True),
    ]
}

# Spellings seen in the wild → canonical id.
ALIASES = {
    "apache 2.0": "apache-2.0",
    "apache2": "apache-2.0",
    "apache-2": "apache-2.0",
    "apache license 2.0": "apache-2.0",
    "mit license": "mit",
    "cc-by-4": "cc-by-4.0",
    "cc-by-sa-4": "cc-by-sa-4.0",
    "gpl-3": "gpl-3.0",
    "gpl-3.0-only": "gpl-3.0",
    "gpl-3.0-or-later": "gpl-3.0",
    "bsd-3": "bsd-3-clause",
}


_EXPRESSION = re.compile(r"\s(and|or|with)\s|[()]", re.IGNORECASE)
_LICENSING = Licensing()


def normalize_license(value: object) -> str | None:
    """The canonical id of a card's license field (lowercase), an SPDX expression of such
    ids ("apache-2.0 OR mit"), or the cleaned text if unknown."""
    if not isinstance(value, str) or not value.strip():
        return None
    key = " ".join(value.strip().lower().split())
    if key in ALIASES or not _EXPRESSION.search(key):
        return ALIASES.get(key, key)
    try:
        return str(_LICENSING.parse(key).render("{symbol.key}"))
    except ExpressionError:
        return key


def license_terms(license_id: str | None) -> LicenseTerms | None:
    return LICENSES.get(license_id) if license_id else None


def license_options(license_id: str | None) -> list[list[LicenseTerms]] | None:
    """A license as alternatives (OR) of licenses that all apply (AND); None if any part is
    unknown. A plain id is one alternative of one license."""
    if not license_id:
        return None
    if not _EXPRESSION.search(license_id):
        single = license_terms(license_id)
        return [[single]] if single else None
    try:
        expression = _LICENSING.dnf(_LICENSING.parse(license_id))
    except ExpressionError:
        return None
    alternatives = expression.args if isinstance(expression, OR) else (expression,)
    options = []
    for alternative in alternatives:
        symbols = _LICENSING.license_symbols(alternative)
        terms = [license_terms(ALIASES.get(s.key.lower(), s.key.lower())) for s in symbols]
        if any(t is None for t in terms):
            return None
        options.append([t for t in terms if t is not None])
    return options


def derive_license(inputs: list[str | None], chosen: str | None = None) -> tuple[str, str]:
    """The license of a derivative of `inputs` (a base model's and its data's licenses).

    Returns (license, reason). Non-commercial and share-alike terms carry over; a base or
    dataset that forbids derivatives, or a chosen license that drops such terms, is refused.
    Unknown licenses give "other", which means "needs review", never "fine".
    """
    from modelcommons.errors import InvalidInputError

    known = [normalize_license(i) for i in inputs if normalize_license(i)]
    terms = [license_terms(k) for k in known]
    if any(t is None or t.id == "other" for t in terms):
        unknown = [k for k, t in zip(known, terms, strict=True) if t is None or t.id == "other"]
        return "other", f"inputs under unknown terms need review: {', '.join(map(str, unknown))}"
    listed = [t for t in terms if t is not None]
    if any(not t.derivatives for t in listed):
        no_derivs = [t.id for t in listed if not t.derivatives]
        raise InvalidInputError(f"{', '.join(no_derivs)} forbids derivatives; nothing is pushed.")
    share_alike = sorted({t.id for t in listed if t.share_alike})
    non_commercial = [t.id for t in listed if not t.commercial_use]
    if len(share_alike) > 1:
        raise InvalidInputError(f"Incompatible share-alike licenses: {', '.join(share_alike)}.")
    if chosen is not None:
        wanted = license_terms(normalize_license(chosen))
        if wanted is None:
            return normalize_license(chosen) or "other", "chosen by the author (not in the table)"
        if share_alike and wanted.id != share_alike[0]:
            raise InvalidInputError(
                f"{share_alike[0]} is share-alike: the derivative must keep it."
            )
        if non_commercial and wanted.commercial_use:
            raise InvalidInputError(
                f"{non_commercial[0]} is non-commercial: {wanted.id} would allow commercial use."
            )
        return wanted.id, "chosen by the author, compatible with the inputs"
    if share_alike:
        return share_alike[0], "share-alike input"
    if non_commercial:
        return non_commercial[0], "non-commercial input"
    if listed:
        return listed[0].id, "the base's (or data's) permissive license"
    return "other", "no input declares a license: needs review"
