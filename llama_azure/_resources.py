"""What the resources of both shells share (``chat.completions``, ``completions`` and their ``with_raw_response``).

Each shell's resource classes keep only what differs by shell: their signatures (the overloads give each
``stream=`` its precise return type, ``Stream`` or ``AsyncStream``, so they are spelled per shell) and the line
that runs the call on the client (awaited or not). Holding the client and handing out ``with_raw_response``
are written here once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from ._base_client import BaseClient

ClientT = TypeVar("ClientT", bound="BaseClient[Any]")
RawT = TypeVar("RawT")


class Resource(Generic[ClientT]):
    """A group of a client's calls (``client.completions``): they run on ``client``."""

    def __init__(self, client: ClientT) -> None:
        self._client = client


class RawResponses(Resource[ClientT], Generic[ClientT, RawT]):
    """A resource whose ``with_raw_response`` twin (``_raw_class``) has the same calls, returning ``RawResponse``."""

    _raw_class: Callable[[ClientT], RawT]

    @property
    def with_raw_response(self) -> RawT:
        """The same ``create``, returning the HTTP answer too: headers, ``retries_taken``, ``.parse()``."""
        return self._raw_class(self._client)
