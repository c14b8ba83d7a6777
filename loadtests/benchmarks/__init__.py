"""The parts of `make bench` (loadtests/bench.py): the two sides, the event tap, the broker ceiling, the write-up."""
