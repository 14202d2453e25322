"""The test environment: real services on loopback for tests, benchmarks and the demo.

Not part of the product: no other conveyor package imports it (an import-linter contract).
``python -m conveyor.testing up|down|status`` (or ``scripts/testenv``) runs it by hand;
:mod:`conveyor.testing.fixtures` is the pytest plugin.
"""
