"""Settings from the environment: bad values stop the start with a clear message."""

from __future__ import annotations

import pytest

from modelcommons.config import load_settings
from modelcommons.errors import ConfigurationError
from modelcommons.storage import open_store


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("COMMONS_SIGNUP", "everyone"),
        ("COMMONS_LICENSE_POLICY", "ignore"),
        ("COMMONS_UNSAFE_FILES", "allow"),
    ],
)
def test_choices_are_checked(tmp_path, name, value):
    with pytest.raises(ConfigurationError, match=f"{name} must be one of"):
        load_settings({"COMMONS_HOME": str(tmp_path), name: value})


def test_unknown_storage_schemes_are_refused():
    with pytest.raises(ConfigurationError, match="use file:// or s3://"):
        open_store("ftp://example.org/store")


def test_non_embedded_databases_need_a_shared_secret(tmp_path):
    with pytest.raises(ConfigurationError, match="COMMONS_SECRET_KEY is required"):
        load_settings(
            {"COMMONS_HOME": str(tmp_path), "COMMONS_DATABASE_URL": "postgresql+psycopg://x/y"}
        )
