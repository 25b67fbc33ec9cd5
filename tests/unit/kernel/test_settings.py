"""Settings: secrets from files (Docker/Kubernetes), SecretStr, redaction."""

import pytest

from cenas.settings import Settings, hide_password, secrets_dir_from_env

SECRET_ENV = ("CENAS_SECRETS_DIR", "CENAS_DATABASE_URL", "CENAS_ELECTRICITYMAPS_TOKEN", "CENAS_WATTTIME_PASSWORD", "CENAS_API_KEY")


@pytest.fixture
def clean_env(monkeypatch):
    for name in SECRET_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_secrets_are_read_from_files_in_the_secrets_dir(tmp_path, clean_env):
    (tmp_path / "cenas_database_url").write_text("postgresql://cenas:file-pw@db:5432/cenas\n")
    (tmp_path / "cenas_electricitymaps_token").write_text("em-token-from-file")
    (tmp_path / "CENAS_WATTTIME_PASSWORD").write_text("wt-from-file\n")  # names are case-insensitive
    clean_env.setenv("CENAS_SECRETS_DIR", str(tmp_path))
    settings = Settings()
    assert settings.database_url == "postgresql://cenas:file-pw@db:5432/cenas"
    assert settings.electricitymaps_token.get_secret_value() == "em-token-from-file"
    assert settings.watttime_password.get_secret_value() == "wt-from-file"
    assert settings.api_key is None

    clean_env.setenv("CENAS_ELECTRICITYMAPS_TOKEN", "em-token-from-env")  # the environment wins
    assert Settings().electricitymaps_token.get_secret_value() == "em-token-from-env"


def test_without_a_secrets_dir_the_environment_alone_counts(tmp_path, clean_env):
    clean_env.setattr("cenas.settings.DEFAULT_SECRETS_DIR", tmp_path / "absent")
    assert secrets_dir_from_env({}) is None
    clean_env.setattr("cenas.settings.DEFAULT_SECRETS_DIR", tmp_path)  # /run/secrets when mounted
    assert secrets_dir_from_env({}) == tmp_path
    assert secrets_dir_from_env({"CENAS_SECRETS_DIR": str(tmp_path)}) == tmp_path
    with pytest.raises(ValueError, match="not a directory"):
        secrets_dir_from_env({"CENAS_SECRETS_DIR": str(tmp_path / "missing")})
    clean_env.setenv("CENAS_ELECTRICITYMAPS_TOKEN", "em-token")
    clean_env.setenv("CENAS_DATABASE_URL", "sqlite:///x.db")
    settings = Settings(_secrets_dir=None)
    assert settings.electricitymaps_token.get_secret_value() == "em-token" and settings.database_url == "sqlite:///x.db"
    assert Settings(watttime_password="pw", _secrets_dir=None).watttime_password.get_secret_value() == "pw"


def test_secrets_print_masked_and_are_redacted_from_text(clean_env):
    settings = Settings(database_url="postgresql://u:db%2Fpw@h/d", broker_url="amqp://guest:mq-pw@h:5672//",
                        electricitymaps_token="em-tok", watttime_password="wt-pw", api_key="cenas_k")
    for secret in ("em-tok", "wt-pw", "cenas_k"):
        assert secret not in repr(settings) and secret not in str(settings.model_dump())
    text = "failed: postgresql://u:db%2Fpw@h/d (db/pw) amqp://guest:mq-pw@h em-tok wt-pw cenas_k"
    redacted = settings.redact(text)
    assert not any(s in redacted for s in ("db%2Fpw", "db/pw", "mq-pw", "em-tok", "wt-pw", "cenas_k")), redacted
    assert hide_password("postgresql://u:secret@h:5432/d") == "postgresql://u:***@h:5432/d"
    assert hide_password("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
