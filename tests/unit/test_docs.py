"""The README documents every command and every setting."""

import re
from pathlib import Path

from modelcommons.cli.main import app

README = (Path(__file__).parents[2] / "README.md").read_text()
CONFIG = (Path(__file__).parents[2] / "src/modelcommons/config.py").read_text()


def _command_names() -> list[str]:
    names = [c.name for c in app.registered_commands]
    for group in app.registered_groups:
        names += [f"{group.name} {c.name}" for c in group.typer_instance.registered_commands]
    return names


def test_every_command_is_documented():
    for name in _command_names():
        assert f"commons {name}" in README, f"README lacks `commons {name}`"


def test_every_setting_is_documented():
    settings = set(re.findall(r'"(COMMONS_[A-Z_]+)"', CONFIG))
    assert settings, "config.py reads no settings?"
    for name in settings:
        assert f"`{name}`" in README, f"README lacks {name}"
