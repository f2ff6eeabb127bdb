"""Peer servers the benchmarks compare the product with (see ``benchmarks/ack_bench.py``)."""
