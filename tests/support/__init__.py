"""Helpers shared by every test folder, each written once here: wire builders, a fake clock, bounded waits,
closing clients, the sync/async shells, pacing bursts, Entra keys and tokens, the server's counters.

``tests/`` is the import root (pytest puts it on ``sys.path`` for ``tests/conftest.py``), so test modules
import these as ``from support.wire import chunk``; a test module never imports another test module
(tests/test_layout_of_tests.py checks it).
"""
