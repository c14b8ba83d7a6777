"""procrastinate, a Postgres-based queue (its jobs are rows; arguments JSON). It stores no results: so that the bench
can check them, each task SETs its result in Redis under the key the caller gave (one round trip, as a results
backend would), which is counted in its figures."""

from __future__ import annotations

import json
import os

import redis
from procrastinate import App, PsycopgConnector

from loadtests.peers import work

app = App(connector=PsycopgConnector(conninfo=os.environ["PEER_DATABASE_URL"]))  # set by the bench
results = redis.Redis.from_url(os.environ["PEER_REDIS_URL"])


@app.task(queue="bulk")  # type: ignore[untyped-decorator]  # procrastinate's decorator is untyped here
def chunk_square(start: int, stop: int, key: str) -> None:
    results.set(key, json.dumps(work.chunk(start, stop)), ex=3600)


@app.task(queue="bulk")  # type: ignore[untyped-decorator]  # procrastinate's decorator is untyped here
def item_square(index: int, key: str) -> None:
    results.set(key, json.dumps(work.square(index)), ex=3600)
