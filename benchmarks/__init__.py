"""Benchmarks and the labelled search evaluation of the catalog; see README.md here."""
