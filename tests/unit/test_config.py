"""Settings from the environment: bad values stop the start with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys

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


def test_choices_keep_their_values(tmp_path):
    settings = load_settings(
        {
            "COMMONS_HOME": str(tmp_path),
            "COMMONS_SIGNUP": "invite",
            "COMMONS_LICENSE_POLICY": "reject",
            "COMMONS_UNSAFE_FILES": "block",
        }
    )
    assert (settings.signup, settings.license_policy, settings.unsafe_files) == (
        "invite",
        "reject",
        "block",
    )


def test_a_whole_number_that_is_not_one_names_the_variable(tmp_path):
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"COMMONS_HOME": str(tmp_path), "COMMONS_JOB_LEASE_SECONDS": "ten"})
    assert caught.value.message == (
        "COMMONS_JOB_LEASE_SECONDS must be a whole number of seconds, got 'ten'"
    )


def test_a_byte_count_says_bytes(tmp_path):
    with pytest.raises(
        ConfigurationError,
        match="COMMONS_MAX_UPLOAD_BYTES must be a whole number of bytes, got '5GB'",
    ):
        load_settings({"COMMONS_HOME": str(tmp_path), "COMMONS_MAX_UPLOAD_BYTES": "5GB"})


def test_a_number_of_seconds_that_is_not_one_names_the_variable(tmp_path):
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"COMMONS_HOME": str(tmp_path), "COMMONS_WORKER_STOP_SECONDS": "soon"})
    assert caught.value.message == (
        "COMMONS_WORKER_STOP_SECONDS must be a number of seconds, got 'soon'"
    )


def test_numbers_are_read(tmp_path):
    settings = load_settings(
        {
            "COMMONS_HOME": str(tmp_path),
            "COMMONS_JOB_LEASE_SECONDS": "42",
            "COMMONS_BODY_TIMEOUT_SECONDS": "2.5",
        }
    )
    assert (settings.job_lease_seconds, settings.body_timeout_seconds) == (42, 2.5)
    assert isinstance(settings.worker_stop_seconds, float)


@pytest.mark.parametrize(
    ("value", "expected"), [("0", False), ("no", False), ("1", True), ("", True)]
)
def test_flags_are_read(tmp_path, value, expected):
    settings = load_settings({"COMMONS_HOME": str(tmp_path), "COMMONS_RUN_WORKER": value})
    assert settings.run_worker is expected


def test_a_flag_that_is_not_yes_or_no_is_refused(tmp_path):
    """'off' used to read as yes: anything but the listed spellings is a mistake."""
    with pytest.raises(ConfigurationError, match="COMMONS_RUN_WORKER must be 1 or 0"):
        load_settings({"COMMONS_HOME": str(tmp_path), "COMMONS_RUN_WORKER": "off"})


def test_serve_with_a_bad_setting_prints_one_line_and_fails(tmp_path):
    env = {
        **os.environ,
        "COMMONS_HOME": str(tmp_path),
        "COMMONS_JOB_LEASE_SECONDS": "ten",
    }
    done = subprocess.run(
        [sys.executable, "-m", "modelcommons.cli.main", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "Error: COMMONS_JOB_LEASE_SECONDS must be a whole number of seconds, got 'ten'"
    )


def test_unknown_queue_schemes_are_refused_without_echoing_the_url():
    from modelcommons.jobs.queue import make_huey

    with pytest.raises(ConfigurationError) as caught:
        make_huey("amqp://worker:secret@queue.example.org/")
    assert caught.value.message == (
        "COMMONS_QUEUE_URL must start with sqlite://, redis:// or rediss://, not 'amqp://'"
    )


def test_unknown_storage_schemes_are_refused():
    with pytest.raises(ConfigurationError, match="use file:// or s3://"):
        open_store("ftp://example.org/store")


def test_non_embedded_databases_need_a_shared_secret(tmp_path):
    with pytest.raises(ConfigurationError, match="COMMONS_SECRET_KEY is required"):
        load_settings(
            {"COMMONS_HOME": str(tmp_path), "COMMONS_DATABASE_URL": "postgresql+psycopg://x/y"}
        )
