"""Production settings: every secret is required and has no default, so a misconfigured pod fails at start.

`manage.py check --deploy --fail-level WARNING` passes with these settings (tests/services/config/); the checks it
would raise are silenced below, each for its reason, and docs/deploying.md ("Django's deployment checks") says the same.
"""

from .base import *  # noqa: F403

SECRET_KEY = env("DJANGO_SECRET_KEY")  # noqa: F405
CELERITY_API_TOKEN = env("CELERITY_API_TOKEN")  # noqa: F405

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True

SILENCED_SYSTEM_CHECKS = [
    # No CSRF middleware: the API authenticates with a bearer token in the Authorization header, never with a cookie,
    # and a cross-site request cannot set that header; there are no sessions and no forms.
    "security.W003",
    # No HSTS here: TLS ends at the Ingress, which sends Strict-Transport-Security for the host (ingress-nginx does by
    # default once the Ingress has TLS); Django only ever sees plain HTTP from inside the cluster.
    "security.W004",
    # No SSL redirect here: the Ingress redirects HTTP to HTTPS; the kubelet probes and Prometheus reach the pod over
    # plain HTTP, and a redirect from Django would fail both.
    "security.W008",
]
