"""Every Service selects exactly the pods it is for, on ports those pods expose; the web Deployment, its probes,
Ingress, PodDisruptionBudget and HPA; and the allowed hosts Django needs behind probes, scrapes and port-forwards."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.charts.rendering import REPO_ROOT, ci_values, env_of, find, get, pod_templates, render_chart


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_every_service_selects_pods_that_expose_its_target_port(ci_objects: list[dict[str, Any]]) -> None:
    templates = [(owner, t) for owner, t in pod_templates(ci_objects) if owner["kind"] != "Job"]
    for service in find(ci_objects, "Service"):
        selector = service["spec"]["selector"]
        selected = [t for _, t in templates if _matches(selector, t["metadata"]["labels"])]
        owners = {o["metadata"]["name"] for o, t in templates if _matches(selector, t["metadata"]["labels"])}
        assert len(selected) == 1, f"Service {service['metadata']['name']} selects {owners}"
        (template,) = selected
        ports = {p["name"] for c in template["spec"]["containers"] for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, (service["metadata"]["name"], port)


def test_workload_selectors_match_their_own_pod_labels(ci_objects: list[dict[str, Any]]) -> None:
    for owner, template in pod_templates(ci_objects):
        if owner["kind"] in {"Deployment", "StatefulSet"}:
            assert _matches(owner["spec"]["selector"]["matchLabels"], template["metadata"]["labels"]), owner


def test_statefulsets_name_their_headless_service(ci_objects: list[dict[str, Any]]) -> None:
    for statefulset in find(ci_objects, "StatefulSet"):
        service = get(ci_objects, "Service", statefulset["spec"]["serviceName"])
        assert service["spec"]["clusterIP"] == "None"


def test_web_runs_gunicorn_with_health_and_readiness_probes() -> None:
    deployment = get(render_chart(), "Deployment", "celerity-web")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["gunicorn", "config.wsgi", "-c", "config/gunicorn.conf.py"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert env_of(container)["PORT"]["value"] == "8000"
    assert deployment["spec"]["replicas"] == 2


def test_web_grace_outlasts_the_pre_stop_sleep_and_gunicorns_graceful_timeout() -> None:
    pod = get(render_chart(), "Deployment", "celerity-web")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    sleep = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    conf = (REPO_ROOT / "services" / "config" / "gunicorn.conf.py").read_text()
    match = re.search(r'GUNICORN_GRACEFUL_TIMEOUT", "(\d+)"', conf)
    assert match, "gunicorn.conf.py no longer reads GUNICORN_GRACEFUL_TIMEOUT"
    gunicorn_graceful = int(match.group(1))
    assert pod["terminationGracePeriodSeconds"] > sleep + gunicorn_graceful


def test_django_allows_the_pod_ip_the_service_names_and_the_ingress_hosts() -> None:
    objects = render_chart({**ci_values("netpol-values.yaml"), "config": {"allowedHosts": ["api.example.org"]}})
    (container,) = get(objects, "Deployment", "celerity-web")["spec"]["template"]["spec"]["containers"]
    env = list(env_of(container))
    hosts = env_of(container)["DJANGO_ALLOWED_HOSTS"]["value"].split(",")
    assert hosts[0] == "$(POD_IP)"
    assert env.index("POD_IP") < env.index("DJANGO_ALLOWED_HOSTS")  # $(VAR) expands only earlier variables
    assert {"localhost", "celerity-web.celerity.svc", "celerity.example.com", "api.example.org"} <= set(hosts)
    assert "*" not in hosts


def test_ingress_routes_to_the_web_service_port() -> None:
    objects = render_chart(ci_values("netpol-values.yaml"))
    ingress = get(objects, "Ingress", "celerity-web")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "celerity-web", "port": {"name": "http"}}
    assert ingress["spec"]["tls"][0]["secretName"] == "celerity-tls"


def test_web_hpa_replaces_replicas_and_pdb_selects_web() -> None:
    objects = render_chart(ci_values("netpol-values.yaml"))
    deployment = get(objects, "Deployment", "celerity-web")
    assert "replicas" not in deployment["spec"]
    hpa = get(objects, "HorizontalPodAutoscaler", "celerity-web")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "celerity-web"}
    pdb = get(objects, "PodDisruptionBudget", "celerity-web")
    assert _matches(pdb["spec"]["selector"]["matchLabels"], deployment["spec"]["template"]["metadata"]["labels"])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"web": {"replicas": 1, "podDisruptionBudget": {"enabled": True, "minAvailable": 1}}},
            "web.podDisruptionBudget.minAvailable (1) must be below web.replicas (1)",
        ),
        (
            {"web": {"hpa": {"enabled": True, "minReplicas": 5, "maxReplicas": 3}}},
            "web.hpa.minReplicas (5) must not exceed web.hpa.maxReplicas (3)",
        ),
    ],
)
def test_bad_web_combinations_fail_with_a_clear_message(values: dict[str, Any], message: str) -> None:
    with pytest.raises(Exception, match=message.replace("(", r"\(").replace(")", r"\)")):
        render_chart(values)


def test_network_policies_let_only_release_clients_reach_redis_and_postgres() -> None:
    objects = render_chart(ci_values("netpol-values.yaml"))
    templates = {o["metadata"]["name"]: t["metadata"]["labels"] for o, t in pod_templates(objects)}
    services = {
        "celerity-web",
        "celerity-worker-default",
        "celerity-worker-bulk",
        "celerity-migrate",
        "celerity-reconciler",
    }
    for policy_name, client_label, clients in [
        ("celerity-redis", "celerity.dev/redis-client", services | {"celerity-operator"}),
        ("celerity-postgresql", "celerity.dev/database-client", services),
    ]:
        (rule,) = get(objects, "NetworkPolicy", policy_name)["spec"]["ingress"]
        (peer,) = rule["from"]
        selector = peer["podSelector"]["matchLabels"]
        assert selector == {"app.kubernetes.io/instance": "celerity", client_label: "true"}
        assert {name for name, labels in templates.items() if _matches(selector, labels)} == clients


def test_network_policies_restrict_metrics_to_the_given_sources() -> None:
    objects = render_chart(ci_values("netpol-values.yaml"))
    for name in ("celerity-workers", "celerity-operator", "celerity-reconciler"):
        (rule,) = get(objects, "NetworkPolicy", name)["spec"]["ingress"]
        assert rule["ports"] == [{"port": "metrics", "protocol": "TCP"}]
        assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    (web,) = get(objects, "NetworkPolicy", "celerity-web")["spec"]["ingress"]
    assert len(web["from"]) == 2  # the ingress controller and the scrapers


def test_notes_tell_how_to_reach_the_api_and_get_the_token() -> None:
    from tests.charts.rendering import render_manifests

    notes = render_manifests()["templates/NOTES.txt"]
    assert "port-forward service/celerity-web 8080:8000" in notes
    assert "get secret celerity-app" in notes
    assert "{.data.api-token}" in notes
    assert "kubectl apply --server-side -f charts/celerity/crds/workerpools.yaml" in notes
    with_ingress = render_manifests(ci_values("netpol-values.yaml"))["templates/NOTES.txt"]
    assert "https://celerity.example.com/api/jobs" in with_ingress
    own_secret = render_manifests(ci_values("external-values.yaml"))["templates/NOTES.txt"]
    assert "get secret celerity-app-secrets" in own_secret  # secrets.existingSecret: the token is in the user's Secret


def _reconciler(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (deployment,) = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-reconciler")]
    return deployment


def test_the_reconciler_is_one_probed_pod_without_a_token_that_can_be_turned_off() -> None:
    spec = _reconciler(render_chart())["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert (spec["replicas"], spec["strategy"]["type"]) == (1, "Recreate")
    assert pod["automountServiceAccountToken"] is False
    assert container["command"] == ["python", "manage.py", "reconcile"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert (env["CELERITY_RECONCILER_PORT"], env["CELERITY_RECONCILE_MAX_REDRIVES"]) == ("9810", "3")
    assert "CELERITY_RECONCILE_BOUND" not in env, "empty: the settings' own default (visibility timeout + 60 s)"
    (bounded,) = _reconciler(render_chart({"reconciler": {"boundSeconds": "300"}}))["spec"]["template"]["spec"][
        "containers"
    ]
    assert {e["name"]: e.get("value") for e in bounded["env"]}["CELERITY_RECONCILE_BOUND"] == "300"
    assert not [o for o in render_chart({"reconciler": {"enabled": False}}) if "reconciler" in o["metadata"]["name"]]
