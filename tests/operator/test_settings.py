"""The operator's environment, read once at start-up: defaults, and a bad value stops it with a clear message."""

from __future__ import annotations

import pytest

from celerity_operator.settings import Settings


def test_defaults_match_the_conventions() -> None:
    assert Settings.from_env({}) == Settings(redis_url=None, metrics_port=8081)


def test_the_default_broker_and_port_come_from_the_environment() -> None:
    env = {"CELERITY_OPERATOR_REDIS_URL": "redis://broker:6379/0", "CELERITY_OPERATOR_METRICS_PORT": "0"}
    assert Settings.from_env(env) == Settings(redis_url="redis://broker:6379/0", metrics_port=0)


def test_a_bad_port_fails_fast_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="CELERITY_OPERATOR_METRICS_PORT must be a port number"):
        Settings.from_env({"CELERITY_OPERATOR_METRICS_PORT": "abc"})
