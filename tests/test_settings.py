"""Settings precedence: flag > environment > --config FILE > built-in defaults."""

from __future__ import annotations

import pytest

from pagetrail.settings import Settings, SettingsError, load_settings


def test_precedence(tmp_path):
    cfg = tmp_path / "p.toml"
    cfg.write_text('per_host_delay = 3.0\nuser_agent = "from-file"\ndb = "sqlite:///file.db"\n'
                   '[resolve]\n"www.wisegeek.com" = "127.0.0.2"\n')
    env = {"PAGETRAIL_USER_AGENT": "from-env", "PAGETRAIL_DB": "sqlite:///env.db"}
    s = load_settings({"db": "sqlite:///flag.db", "user_agent": None}, config_file=cfg, environ=env)
    assert s.db == "sqlite:///flag.db"  # flag wins
    assert s.user_agent == "from-env"  # env beats file
    assert s.per_host_delay == 3.0  # file beats default
    assert s.resolve == {"www.wisegeek.com": "127.0.0.2"}
    assert s.concurrency == Settings().concurrency == 16


def test_environment_types():
    env = {"PAGETRAIL_ALLOW_PRIVATE_ADDRESSES": "true", "PAGETRAIL_RESOLVE": "a.test=127.0.0.3,b.test:81=127.0.0.4",
           "PAGETRAIL_MAX_BODY_BYTES": "1000"}
    s = load_settings({}, environ=env)
    assert s.allow_private_addresses is True and s.max_body_bytes == 1000
    assert s.resolve == {"a.test": "127.0.0.3", "b.test:81": "127.0.0.4"}


@pytest.mark.parametrize("name,value", [("PAGETRAIL_CONCURRENCY", "many"), ("PAGETRAIL_OBEY_ROBOTS", "perhaps"),
                                        ("PAGETRAIL_RESOLVE", "nohost")])
def test_bad_environment_values_name_the_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        load_settings({}, environ={name: value})
