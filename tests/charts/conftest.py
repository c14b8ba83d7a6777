"""Fixtures of the chart tests; the rendering helpers live in tests/charts/rendering.py."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.charts.rendering import CI_VALUES, ci_ids, render_chart


@pytest.fixture(scope="session", params=CI_VALUES, ids=ci_ids())
def ci_objects(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    """The objects of each ci/*.yaml values set (rendered and validated once per set)."""
    return render_chart(yaml.safe_load(request.param.read_text()) or {})
