"""Generates charts/celerity/dashboards/*.json, the Grafana dashboards the chart ships as ConfigMaps.

    .venv/bin/python -m charts.celerity.hack.dashboards          # rewrite the JSON files
    .venv/bin/python -m charts.celerity.hack.dashboards --check  # exit 1 if a checked-in file differs

The JSON is the artifact (checked in, loaded as-is by the chart); the generator keeps the five dashboards consistent:
one datasource variable, namespace and pool variables on every dashboard, every query filtered by them, and metric
names only from docs/metrics.md (tests/monitoring checks that by parsing every expression).

- `model.py`: the dashboard, its panels on the 24-column grid, and the JSON Grafana loads;
- `variables.py`: the datasource and query variables;
- `queries.py`: the filters and the query targets every dashboard builds from;
- one module per dashboard (`overview.py`, `tasks.py`, `autoscaling.py`, `locks.py`, `web.py`);
- `generating.py`: writes or checks the JSON files.
"""
