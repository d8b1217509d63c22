"""License data: SPDX id (or a known model license) → what it allows and asks.

Data only for now; the lineage work adds the compatibility checker on top.
"""

from __future__ import annotations

from dataclasses import dataclass


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


def normalize_license(value: object) -> str | None:
    """The canonical id of a card's license field (lowercase), or the cleaned text if unknown."""
    if not isinstance(value, str) or not value.strip():
        return None
    key = value.strip().lower()
    key = ALIASES.get(key, key)
    return key


def license_terms(license_id: str | None) -> LicenseTerms | None:
    return LICENSES.get(license_id) if license_id else None
