"""Tests of the reference server (a package, so module names cannot clash with tests/sdk)."""
