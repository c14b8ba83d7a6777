"""Which API the command talks to: flags and environment, a named profile, the local stack found upward from the
current directory, the default profile; and a local token never sent to a URL from elsewhere."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from celerity_client.config import resolve
from celerity_client.errors import ConfigError
from devstack.stack import StackInfo

PROFILES = """
[default]
url = "https://celerity.example.com"
token = "default-token"

[staging]
url = "https://staging.example.com"
token_file = "{token_file}"
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "token").write_text("staging-token\n")
    config = tmp_path / "home" / ".config" / "celerity" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(PROFILES.format(token_file=tmp_path / "token"))
    return tmp_path / "home"


def stack_at(checkout: Path, url: str = "http://127.0.0.1:8123", token: str = "local-token") -> Path:  # noqa: S107 - a test token
    """What `make run` writes into the checkout's .run/ while it is up (its own StackInfo, as devstack writes it)."""
    run = checkout / ".run"
    run.mkdir(parents=True)
    (run / "stack.json").write_text(json.dumps(asdict(StackInfo(api_url=url, token=token))))
    (run / "api-token").write_text(token + "\n")
    return run


def env(home: Path, **values: str) -> dict[str, str]:
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), **values}


def test_flags_come_first_then_the_environment(home: Path, tmp_path: Path) -> None:
    stack_at(tmp_path / "checkout")
    given = env(home, CELERITY_URL="http://env:1", CELERITY_TOKEN="env-token")
    cwd = tmp_path / "checkout"
    flagged = resolve(url="http://flag:2", token="flag-token", env=given, cwd=cwd)
    assert (flagged.url, flagged.token) == ("http://flag:2", "flag-token")
    environment = resolve(env=given, cwd=cwd)
    assert (environment.url, environment.token) == ("http://env:1", "env-token")


def test_a_named_profile_comes_before_the_local_stack(home: Path, tmp_path: Path) -> None:
    stack_at(tmp_path / "checkout")
    found = resolve(env=env(home, CELERITY_PROFILE="staging"), cwd=tmp_path / "checkout")
    assert (found.url, found.token) == ("https://staging.example.com", "staging-token")  # token_file read
    assert "profile staging" in found.source


def test_the_local_stack_is_found_from_any_directory_below_the_checkout(home: Path, tmp_path: Path) -> None:
    run = stack_at(tmp_path / "checkout")
    deep = tmp_path / "checkout" / "services" / "celerity" / "jobs"
    deep.mkdir(parents=True)
    found = resolve(env=env(home), cwd=deep)
    assert (found.url, found.token) == ("http://127.0.0.1:8123", "local-token")
    assert str(run / "stack.json") in found.source


def test_the_run_directory_may_be_moved(home: Path, tmp_path: Path) -> None:
    run = stack_at(tmp_path / "elsewhere")
    found = resolve(env=env(home, CELERITY_RUN_DIR=str(run)), cwd=tmp_path)
    assert found.token == "local-token"


def test_outside_a_running_checkout_the_default_profile_answers(home: Path, tmp_path: Path) -> None:
    (tmp_path / "checkout" / ".run").mkdir(parents=True)  # make run stopped: it removed stack.json
    found = resolve(env=env(home), cwd=tmp_path / "checkout")
    assert (found.url, found.token) == ("https://celerity.example.com", "default-token")


def test_a_url_from_the_environment_never_gets_the_local_token(home: Path, tmp_path: Path) -> None:
    stack_at(tmp_path / "checkout")
    with pytest.raises(ConfigError, match="needs a token"):
        resolve(env=env(home, CELERITY_URL="https://prod.example.com"), cwd=tmp_path / "checkout")


def test_nothing_configured_says_every_way_to_configure(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        resolve(env=env(tmp_path / "empty"), cwd=tmp_path)
    assert all(words in str(refused.value) for words in ("CELERITY_URL", "CELERITY_TOKEN", "[default]", "make run"))


def test_an_unknown_profile_lists_the_known_ones(home: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no profile 'prod' .* \(profiles: default, staging\)"):
        resolve(profile="prod", env=env(home), cwd=tmp_path)


def test_a_broken_profile_file_is_named(home: Path, tmp_path: Path) -> None:
    (home / ".config" / "celerity" / "config.toml").write_text("[default\nurl=")
    with pytest.raises(ConfigError, match=r"cannot read .*config\.toml"):
        resolve(env=env(home), cwd=tmp_path)
