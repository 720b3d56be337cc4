"""HTTP rules without I/O: who may see the credential, how long a call may take, the wait a service asks for.

Nothing is imported here. What each module hands out:

- ``origins``: ``check_plain_http`` (no secret in clear to a host on the network) and the redirect rules that keep
  credential headers on their origin (``follows_redirect``, ``redirect_request``, ``same_origin``)
- ``timeouts``: ``CallTimer``, a call's total deadline and a stream's idle limit, shared by its retries and stream
- ``retry_after``: ``retry_after_seconds``, the wait from ``Retry-After`` and the ``x-ms-`` headers
"""
