"""Other task queues, for `make bench PLAN=peers` (issue #23): each module is one peer's app, imported by its own
worker processes (their command lines are in `loadtests/benchmarks/peers.py`) and by the bench process to publish.
They need `requirements/peers.txt`, which `make bench PLAN=peers` installs and `make test` does not."""
