"""The chart's alert rules, extracted from the rendered PrometheusRule, pass `promtool check rules` and the unit
tests in alert_rules_test.yaml (`promtool test rules`); every alert has a test, a severity and its annotations."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.monitoring.promql import rule_groups

HERE = Path(__file__).resolve().parent
UNIT_TESTS = HERE / "alert_rules_test.yaml"
ISSUE_ALERTS = {
    "CelerityBacklogGrowing",  # a backlog that keeps growing
    "CelerityPoolAtMaxReplicasWithBacklog",  # a pool at max replicas with backlog
    "CelerityTaskFailureRateHigh",  # a high failure rate
    "CelerityLockWaitHigh",  # lock wait p99 over a threshold
    "CelerityPoolNoLiveWorkers",  # no live workers for a pool that has backlog
    "CelerityOperatorProbeFailing",  # the operator's probe failing
}
# danihodovic/celery-exporter's mixin (celery-mixin/alerts/alerts.libsonnet) -> the alert that covers it here.
MIXIN_ALERTS = {
    "CeleryTaskHighFailRate": "CelerityTaskFailureRateHigh",  # failed / (failed + succeeded) per task, 5 %
    "CeleryHighQueueLength": "CelerityQueueLengthHigh",  # more than 100 waiting in a queue for 20 m
    "CeleryWorkerDown": "CelerityWorkerDown",  # celery_worker_up == 0 for 15 m
}


def _promtool() -> str:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: `make tools` installs it (Debian's `prometheus` package)")
    return promtool


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """celerity-rules.yaml (the rendered groups) and a copy of the unit tests, side by side."""
    directory = tmp_path_factory.mktemp("rules")
    (directory / "celerity-rules.yaml").write_text(yaml.safe_dump({"groups": rule_groups()}, sort_keys=False))
    shutil.copy(UNIT_TESTS, directory / UNIT_TESTS.name)
    return directory


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_promtool_check_rules(rules_dir: Path) -> None:
    result = _run("check", "rules", "celerity-rules.yaml", cwd=rules_dir)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass(rules_dir: Path) -> None:
    result = _run("test", "rules", UNIT_TESTS.name, cwd=rules_dir)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested_firing_and_quiet_and_the_issue_list_is_covered() -> None:
    alerts = {rule["alert"] for group in rule_groups() for rule in group["rules"]}
    tests = yaml.safe_load(UNIT_TESTS.read_text())["tests"]
    cases = [case for test in tests for case in test["alert_rule_test"]]
    firing = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert alerts >= ISSUE_ALERTS
    assert firing == alerts, "an alert without a case where it fires"
    assert quiet == alerts, "an alert without a case where it must stay quiet"


def test_the_celery_exporter_mixin_alerts_are_covered() -> None:
    alerts = {rule["alert"]: rule for group in rule_groups() for rule in group["rules"]}
    assert set(MIXIN_ALERTS.values()) <= set(alerts)
    assert 'outcome=~"succeeded|failed"' in alerts["CelerityTaskFailureRateHigh"]["expr"]  # retries are not failures


def test_every_alert_has_severity_summary_description_and_for() -> None:
    for group in rule_groups():
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"warning", "critical"}, rule
            assert {"summary", "description"} <= set(rule["annotations"]), rule
            assert rule.get("for"), rule


def test_alerts_are_scoped_to_the_release_namespace() -> None:
    for group in rule_groups(
        {"monitoring": {"prometheusRule": {"enabled": True}}},
    ):
        for rule in group["rules"]:
            assert 'namespace="celerity"' in rule["expr"], rule["alert"]


def test_thresholds_and_extra_labels_come_from_values() -> None:
    values = {
        "monitoring": {
            "prometheusRule": {
                "enabled": True,
                "additionalAlertLabels": {"team": "platform"},
                "taskFailureRate": {"percent": 20, "for": "30m"},
                "lockWaitP99": {"seconds": 2, "for": "1m"},
                "queueLengthHigh": {"tasks": 500, "for": "1h"},
            }
        }
    }
    rules = {rule["alert"]: rule for group in rule_groups(values) for rule in group["rules"]}
    assert "> 20" in rules["CelerityTaskFailureRateHigh"]["expr"]
    assert rules["CelerityTaskFailureRateHigh"]["for"] == "30m"
    assert "> 2" in rules["CelerityLockWaitHigh"]["expr"]
    assert "> 500" in rules["CelerityQueueLengthHigh"]["expr"]
    assert rules["CelerityQueueLengthHigh"]["for"] == "1h"
    assert all(rule["labels"]["team"] == "platform" for rule in rules.values())
