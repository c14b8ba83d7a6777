"""The heartbeat contract with the operator (docs/conventions.md): the document, its key, TTL and index, and the
pure reader side (parse + staleness)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from celerity.observability import heartbeat

CONVENTIONS = Path(__file__).resolve().parents[3] / "docs" / "conventions.md"


@pytest.fixture
def r(redis_url_for: Callable[[int], str]) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url_for(13))  # a DB of its own: no live worker writes here
    client.flushdb()
    yield client
    client.flushdb()


def _document(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = dict(
        nodename="bulk@pod-1",
        pool="bulk",
        queues=["bulk"],
        concurrency=2,
        active_queues=["bulk"],
        reserved_queues=["bulk", "bulk", "bulk"],
        state="running",
        interval=5.0,
        now=1764000000.25,
    )
    values.update(overrides)
    return heartbeat.heartbeat_document(**values)  # type: ignore[arg-type]


def test_the_document_has_exactly_the_documented_fields() -> None:
    documented = json.loads(re.search(r"```json\n(.*?)```", CONVENTIONS.read_text(), re.S).group(1))  # type: ignore[union-attr]
    document = _document()
    assert set(document) == set(documented)
    assert document["v"] == 1
    assert (document["active"], document["reserved"]) == (1, 3)
    assert document["active_by_queue"] == {"bulk": 1}
    assert document["reserved_by_queue"] == {"bulk": 3}
    assert document["ttl"] == 15  # three intervals
    assert heartbeat.parse(json.dumps(documented)) == documented


def test_the_pod_field_is_the_pod_name_when_kubernetes_gives_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_NAME", "celerity-worker-bulk-6c9f7-x2k4p")
    assert _document()["pod"] == "celerity-worker-bulk-6c9f7-x2k4p"


GARBLED = [
    None,
    b"",
    b"not json",
    b"[1, 2]",
    b'{"v": 2, "ts": 1, "ttl": 3, "hostname": "a"}',
    b'{"v": 1, "ttl": 3, "hostname": "a"}',
    b'{"v": 1, "ts": "x", "ttl": 3, "hostname": "a"}',
]


@pytest.mark.parametrize("raw", GARBLED)
def test_the_reader_ignores_anything_but_a_version_1_document(raw: bytes | None) -> None:
    assert heartbeat.parse(raw) is None


def test_a_heartbeat_is_fresh_for_its_ttl_and_stale_after() -> None:
    document = _document(interval=1.0)
    ts = float(document["ts"])  # type: ignore[arg-type]
    assert heartbeat.is_fresh(document, now=ts + 2.9)
    assert heartbeat.is_fresh(document, now=ts + 3.0)
    assert not heartbeat.is_fresh(document, now=ts + 3.1)


def test_publish_sets_the_key_with_its_ttl_and_indexes_it_and_remove_clears_both(r: redis.Redis) -> None:
    import time

    document = _document(interval=2.0, now=time.time())
    heartbeat.publish(r, document)
    assert json.loads(r.get("celerity:worker:bulk@pod-1")) == document  # type: ignore[arg-type]
    assert 0 < r.ttl("celerity:worker:bulk@pod-1") <= 6
    assert r.zscore("celerity:workers", "bulk@pod-1") == pytest.approx(document["ts"])
    assert [d["hostname"] for d in heartbeat.read_fresh(r)] == ["bulk@pod-1"]
    heartbeat.remove(r, "bulk@pod-1")
    assert r.get("celerity:worker:bulk@pod-1") is None
    assert r.zcard("celerity:workers") == 0


def test_read_fresh_skips_stale_and_garbled_heartbeats(r: redis.Redis) -> None:
    now = 1764000000.0
    heartbeat.publish(r, _document(nodename="a@1", interval=1.0, now=now))
    heartbeat.publish(r, _document(nodename="b@1", interval=1.0, now=now - 10))  # its key outlived its ts
    r.set("celerity:worker:c@1", b"garbage")
    r.zadd("celerity:workers", {"c@1": now})
    r.zadd("celerity:workers", {"d@1": now})  # index entry whose key expired
    assert [d["hostname"] for d in heartbeat.read_fresh(r, now=now + 1)] == ["a@1"]
