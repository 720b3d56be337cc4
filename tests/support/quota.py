"""The limits the ``quota_server`` fixture enforces on each deployment, and the mark for a test whose
assertions need its requests to stay in the server's window until it ends."""

from __future__ import annotations

from typing import NamedTuple

import pytest

QUOTA_RPM, QUOTA_TPM, QUOTA_WINDOW = 4, 300, 3.0
# No test lasts an hour: what a test sent is still in the server's window when it checks what that caused.
LONG_QUOTA_WINDOW = 3600.0


class QuotaLimits(NamedTuple):
    rpm: int
    tpm: int
    window: float


# ``@long_quota_window`` on a test: its ``quota_server`` keeps requests for an hour, not 3 s (a loaded machine
# can let 3 s pass between two requests of one test, and the second then starts a new window).
long_quota_window = pytest.mark.parametrize("quota_window", [LONG_QUOTA_WINDOW], ids=["long_window"])
