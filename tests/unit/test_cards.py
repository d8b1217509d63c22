from modelcommons.hub.cards import parse_card, validate_card
from modelcommons.licensing.terms import license_terms, normalize_license


def test_front_matter_is_indexed():
    card = parse_card(
        "---\nlicense: MIT\npipeline_tag: text-classification\nlibrary_name: peft\n"
        "base_model:\n- acme/base\nbase_model_relation: adapter\ndatasets: acme/data\n"
        "tags: [a, b]\nlanguage: [en, fr]\n---\n# Title\n"
    )
    assert card.error is None
    assert card.license == "mit"
    assert card.base_models == ["acme/base"] and card.base_model_relation == "adapter"
    assert card.datasets == ["acme/data"]
    assert card.tags == [
        "a",
        "b",
        "peft",
        "text-classification",
        "en",
        "fr",
        "license:mit",
        "dataset:acme/data",
        "base_model:acme/base",
    ]


def test_bad_front_matter_is_an_error_not_an_exception():
    card = parse_card("---\nlicense: [oops\n---\ntext")
    assert card.data is None and "Invalid YAML" in card.error
    assert validate_card("---\n- just\n- a list\n---\n") == [
        "The card's front matter must be a YAML mapping (key: value lines)."
    ]
    assert parse_card("no front matter").data is None


def test_unknown_relation_is_reported():
    card = parse_card("---\nbase_model: x/y\nbase_model_relation: cousin\n---\n")
    assert card.base_model_relation is None and "base_model_relation" in card.error


def test_license_table():
    assert normalize_license("Apache 2.0") == "apache-2.0"
    terms = license_terms("cc-by-nc-4.0")
    assert terms is not None and not terms.commercial_use and terms.derivatives
    assert license_terms("something-else") is None
