"""Generates charts/celerity/dashboards/*.json, the Grafana dashboards the chart ships as ConfigMaps.

    .venv/bin/python charts/celerity/hack/dashboards.py          # rewrite the JSON files
    .venv/bin/python charts/celerity/hack/dashboards.py --check  # exit 1 if a checked-in file differs

One module per dashboard (`board_*.py`), on a shared model (`grafana.py`: layout, variables, JSON) and shared query
helpers (`queries.py`). The JSON is the artifact (checked in, loaded as-is by the chart); the generator keeps the
five dashboards consistent:
one datasource variable, namespace and pool variables on every dashboard, every query filtered by them, and metric
names only from docs/metrics.md (tests/monitoring checks that by parsing every expression).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from board_autoscaling import autoscaling
from board_locks import locks
from board_overview import overview
from board_tasks import tasks
from board_web import web

OUT = Path(__file__).resolve().parents[1] / "dashboards"

DASHBOARDS = {"overview": overview, "tasks": tasks, "autoscaling": autoscaling, "locks": locks, "web": web}


def rendered() -> dict[str, str]:
    return {f"{name}.json": json.dumps(build().render(), indent=2) + "\n" for name, build in DASHBOARDS.items()}


def main(argv: list[str]) -> int:
    stale = []
    for name, text in rendered().items():
        path = OUT / name
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"dashboards out of date: {', '.join(stale)}; run {Path(__file__).name}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
