"""URL map: the jobs API under /api/, health and metrics at the root."""

from django.urls import path

from celerity.jobs.api import api
from celerity.observability import views as observability_views

urlpatterns = [
    path("api/", api.urls),
    path("healthz", observability_views.healthz, name="healthz"),
    path("readyz", observability_views.readyz, name="readyz"),
    path("metrics", observability_views.metrics, name="metrics"),
]
