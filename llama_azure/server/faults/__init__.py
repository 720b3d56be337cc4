"""Fault injection for the reference server: ``llama-azure serve --faults SPEC``.

A SPEC is a comma-separated list of faults, each ``name[:arg][@when]``:

- ``when`` omitted: every request; ``@N`` (an integer): the first N requests only; ``@P`` (a number
  with a dot, 0 < P <= 1): each request with probability P.
- ``none``: nothing (turns on the per-request header, see below, without a server-wide fault).
- ``status:CODE``: answer CODE (400..599) with an Azure-shaped body before the app sees the request;
  ``status:429`` carries ``Retry-After: 1`` and ``retry-after-ms: 100``, ``status:429-noheaders`` no
  retry header at all, ``status:429-24h`` ``Retry-After: 86400``.
- ``reset-before``: abort the TCP connection before any response byte.
- ``reset-mid[:N]``: abort the connection after N stream events (default 1).
- ``truncate[:N]``: end the response body cleanly after N stream events, without ``[DONE]`` (default 1).
- ``stall:SECONDS``: after the first stream event, send nothing for SECONDS (at most 300).
- ``bad-json[:N]``: replace stream event N (1-based, default 2) with malformed JSON.
- ``keepalive``: send a ``: keep-alive`` comment and an ``id:``/``retry:`` event with no data before each event.
- ``dribble[:SECONDS]``: send the body in 16-byte pieces, SECONDS apart (default 0.05, at most 1); after 300 s
  of pauses the rest of the answer goes at full speed.
- ``huge[:CHARS]``: add CHARS characters (default 100000, at most 10,000,000, with multibyte ones) to the
  answer's text.

Stream faults (``reset-mid``, ``truncate``, ``stall``, ``bad-json``, ``keepalive``) act on
``text/event-stream`` answers only; ``dribble`` and ``huge`` act on JSON answers too.

With ``--faults`` given (even ``--faults none``), a request that presents a valid key (or token) may also
carry its own SPEC in the ``x-llama-azure-fault`` header; without one the header is answered 401, and a SPEC
out of range 400. Counts (``@N``) of a header SPEC are kept per
``x-ms-client-request-id``, so ``status:503@2`` fails the first two attempts of one SDK call (its
retries reuse the id) and lets the third through. Status faults are answered before quotas are
counted. ``/openapi.json``, ``/swagger.json`` and ``/_server/*`` are never faulted.
"""

from .middleware import EXEMPT_PATHS, FAULT_HEADER, FaultInjector
from .plan import FaultPlan
from .spec import Fault, FaultSpecError, parse_spec

__all__ = ["EXEMPT_PATHS", "FAULT_HEADER", "Fault", "FaultInjector", "FaultPlan", "FaultSpecError", "parse_spec"]
