"""Settings: one class, BLUELAMP_ environment variables, secrets masked."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from bluelamp.settings import Settings, mask_url_password


def test_defaults_run_on_an_embedded_sqlite_file(monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("BLUELAMP_"):
            monkeypatch.delenv(name)
    settings = Settings()
    assert settings.database_url == "sqlite:///bluelamp.db"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_environment_variables_override_defaults(monkeypatch):
    monkeypatch.setenv("BLUELAMP_DATABASE_URL", "postgresql://u:p@db:5432/bluelamp")
    monkeypatch.setenv("BLUELAMP_PORT", "9001")
    settings = Settings()
    assert settings.database_url == "postgresql://u:p@db:5432/bluelamp"
    assert settings.port == 9001


def test_bad_values_are_refused(monkeypatch):
    monkeypatch.setenv("BLUELAMP_PORT", "99999")
    with pytest.raises(ValidationError):
        Settings()


def test_every_setting_has_a_description():
    for name, field in Settings.model_fields.items():
        assert field.description and len(field.description) > 10, name


def test_secrets_and_database_passwords_are_masked_when_shown():
    settings = Settings(secret_key=SecretStr("hunter2-very-secret"), database_url="postgresql://app:pw123@db/bl")
    shown = {name: value for name, value, _ in settings.described()}
    assert shown["BLUELAMP_SECRET_KEY"] == "********"
    assert shown["BLUELAMP_DATABASE_URL"] == "postgresql://app:***@db/bl"
    assert "hunter2" not in str(settings.described())


@pytest.mark.parametrize(
    "url, shown",
    [
        ("sqlite:///bluelamp.db", "sqlite:///bluelamp.db"),
        ("postgresql://app@db/bl", "postgresql://app@db/bl"),
        ("postgresql://app:p@ss@db/bl", "postgresql://app:***@db/bl"),
    ],
)
def test_mask_url_password(url, shown):
    assert mask_url_password(url) == shown
