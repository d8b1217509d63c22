"""The pure checks behind the request limits: header values built from input, and JSON
that parses but that no route should take."""

from __future__ import annotations

import json

import pytest

from modelcommons.errors import InvalidInputError
from modelcommons.hub.names import whole_number
from modelcommons.server.bodies import check_json
from modelcommons.server.errors import header_value


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a\r\nb", "a? b"),
        ("tab\there", "tab?here"),
        ("nul\x00del\x7f", "nul?del?"),
        ("euro €", "euro ?"),
        ("café", "café"),  # latin-1 stays
        (" lead does not exist ", "lead does not exist"),  # h11 refuses edge white space
    ],
)
def test_header_value_holds_no_control_or_non_latin1_characters(text, expected):
    assert header_value(text) == expected
    header_value(text).encode("latin-1")


def test_header_value_is_bounded():
    assert len(header_value("x" * 10_000)) == 500


def test_check_json_bounds_depth():
    ok = json.loads("[" * 64 + "]" * 64)
    assert check_json(ok) is ok
    with pytest.raises(ValueError, match="deeper than 64"):
        check_json(json.loads("[" * 65 + "]" * 65))
    with pytest.raises(ValueError, match="deeper"):
        check_json(json.loads('{"a": ' * 65 + "1" + "}" * 65))


@pytest.mark.parametrize("text", ['{"\\ud800": 1}', '{"a": ["\\udfff"]}', '"\\ud83d"'])
def test_check_json_refuses_lone_surrogates(text):
    with pytest.raises(ValueError, match="surrogate"):
        check_json(json.loads(text))


def test_check_json_takes_paired_surrogates():
    assert check_json(json.loads('{"emoji": "\\ud83d\\ude00"}')) == {"emoji": "😀"}


@pytest.mark.parametrize("raw", ["", "-1", "1.5", "\u00b2", "\u0663", "9" * 5000, "2147483648"])
def test_whole_number_refuses_what_int_or_the_database_would_not_take(raw):
    with pytest.raises(InvalidInputError, match="whole number from 0 to 2147483647"):
        whole_number(raw, what="The page")


def test_whole_number_takes_small_ones():
    assert whole_number("0", what="p") == 0
    assert whole_number("2147483647", what="p") == 2**31 - 1
    with pytest.raises(InvalidInputError, match="from 1"):
        whole_number("0", what="p", least=1)
