"""Unit tests of the sans-IO core and the pure helpers: no server, no network."""
