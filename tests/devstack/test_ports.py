"""A stack's ports: the web's, and one per worker pool plus the reconciler's from METRICS_PORT on. One taken is a
clear error at once, not a start that waits out its readiness timeout for a server that could never listen."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devstack import stack
from devstack.servers import free_port, free_ports, port_free


def test_a_taken_metrics_port_stops_the_start_and_names_it(tmp_path: Path) -> None:
    first = free_ports(3)
    start = stack.local_stack(tmp_path, port=free_port(), metrics_port=first, persistent=False, progress=False)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", first + 1))  # the second pool's port
        squatter.listen()
        with pytest.raises(stack.StackError, match=rf"port\(s\) {first + 1} in use.*METRICS_PORT"), start:
            pytest.fail("the stack started")
    assert not (tmp_path / "stack.json").exists()


def test_free_ports_gives_consecutive_ports_that_are_all_free() -> None:
    first = free_ports(5)
    assert all(port_free(first + n) for n in range(5))
