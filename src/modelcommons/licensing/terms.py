"""License data: SPDX id (or a known model license) → what it allows and asks.

licensing.compatibility checks derivatives against these terms along a model's ancestry.
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
        _t("cc-by-3.0", "CC BY 3.0", True, True, False, False, True, False),
        _t("cc-by-sa-3.0", "CC BY-SA 3.0", True, True, True, True, True, False),
        _t("cc-by-nc-3.0", "CC BY-NC 3.0", False, True, False, False, True, False),
        _t("cc-by-nc-sa-3.0", "CC BY-NC-SA 3.0", False, True, True, True, True, False),
        _t("cc-by-nc-nd-3.0", "CC BY-NC-ND 3.0", False, False, False, False, True, False),
        _t("cc-by-nd-3.0", "CC BY-ND 3.0", True, False, False, False, True, False),
        _t("cc-by-2.0", "CC BY 2.0", True, True, False, False, True, False),
        _t("gpl-2.0", "GNU GPL v2", True, True, True, True, True, False),
        _t("lgpl-2.1", "GNU LGPL v2.1", True, True, True, True, True, False),
        _t("bsl-1.0", "Boost Software License 1.0", True, True, False, False, True, False),
        _t("zlib", "zlib License", True, True, False, False, True, False),
        _t("wtfpl", "WTFPL", True, True, False, False, False, False),
        _t("artistic-2.0", "Artistic License 2.0", True, True, False, False, True, False),
        _t("epl-2.0", "Eclipse Public License 2.0", True, True, True, True, True, False),
        _t("pddl", "ODC Public Domain Dedication", True, True, False, False, False, False),
        _t("cdla-permissive-2.0", "CDLA Permissive 2.0", True, True, False, False, True, False),
        _t("cdla-sharing-1.0", "CDLA Sharing 1.0", True, True, True, True, True, False),
        _t("bigcode-openrail-m", "BigCode OpenRAIL-M", True, True, False, False, True, True),
        _t(
            "bigscience-bloom-rail-1.0",
            "BigScience BLOOM RAIL",
            True,
            True,
            False,
            False,
            True,
            True,
        ),
        _t("llama3.2", "Llama 3.2 Community License", True, True, False, False, True, True),
        _t("llama3.3", "Llama 3.3 Community License", True, True, False, False, True, True),
        _t("llama4", "Llama 4 Community License", True, True, False, False, True, True),
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
    "gpl-2.0-only": "gpl-2.0",
    "gpl-2.0-or-later": "gpl-2.0",
    "lgpl-2.1-only": "lgpl-2.1",
    "agpl-3.0-only": "agpl-3.0",
    "cc0": "cc0-1.0",
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
