"""Pacing: client-side rate limits (``rate_limit=RateLimit(...)``), a call held back until its quota allows it.

Nothing is imported here, so that ``import llama_azure`` loads only :mod:`.pacer`; the budget's modules load
with the first ``RateLimit``. What each module hands out:

- ``pacer``: ``Pacer`` (one client's link to its budget), the flow steps ``Pause`` and ``Store``, ``is_rate_limit``
- ``wait``: ``pause`` / ``apause``, the I/O of a ``Pause`` step (sync and async)
- ``rate_limit``: ``RateLimit``, the public setting, which makes the shared budget
- ``budget``: ``Budget``, the tickets calls take and settle, and its wakes
- ``ledger``: ``LocalLedger`` (this process), ``Limits``, ``Usage``; ``redis_ledger``: ``RedisLedger`` (shared)
- ``token_estimate``: ``estimate_tokens`` of a request; ``store_deadline``: the time a store round trip may take
- ``fork_reset``: ``reset_after_fork``, the per-process state a forked child starts afresh
"""
