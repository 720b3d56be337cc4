"""Helpers shared by every test folder: wire builders, a fake clock, bounded waits, closing clients.

``tests/`` is the import root (pytest puts it on ``sys.path`` for ``tests/conftest.py``), so test modules
import these as ``from support.wire import chunk``.
"""
