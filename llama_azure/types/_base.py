"""The base of every response model: tolerant of unknown fields, carrying the request id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict


class ResponseModel(BaseModel):
    """A model read from the service. Unknown fields are kept (``model_extra``), never rejected."""

    # defer_build: each validator is built at its first use, not when `import llama_azure` runs.
    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=(), defer_build=True)

    def to_dict(self, *, exclude_none: bool = True) -> dict[str, Any]:
        """A plain JSON-ready dict, e.g. ``reply.to_dict()["choices"][0]``."""
        return self.model_dump(mode="json", exclude_none=exclude_none)

    def to_json(self, *, indent: int | None = 2, exclude_none: bool = True) -> str:
        """The model as JSON text."""
        return self.model_dump_json(indent=indent, exclude_none=exclude_none)


class _Origin:
    """Where a whole answer came from: plain class defaults, overridden per instance when known.

    Deliberately not pydantic private attributes: pydantic runs a Python-level hook for every instance of a
    model that has them, which cost a streamed chunk more than parsing its JSON. Set on an instance, these
    live in its ``__dict__`` beside the fields; pydantic ignores them when dumping, comparing and printing.
    """

    _request_id: str | None = None
    _deployment: Any = None


_ORIGIN_NAMES = frozenset(("_request_id", "_deployment"))


class ResultModel(ResponseModel, _Origin):
    """A whole answer (not a part of one): it also carries the HTTP response's request id."""

    if not TYPE_CHECKING:  # mypy keeps checking assignments against the fields

        def __setattr__(self, name: str, value: Any) -> None:
            # A stream sets the request id on every chunk: straight into __dict__, not through pydantic's
            # general (and, for names it does not know, uncached) attribute handler.
            if name in _ORIGIN_NAMES:
                self.__dict__[name] = value
            else:
                super().__setattr__(name, value)

    @property
    def request_id(self) -> str | None:
        """The id the service gave the HTTP response this object came from (``x-request-id`` and kin)."""
        return self._request_id

    @property
    def deployment(self) -> Any:
        """With ``LlamaClient(deployments=[...])``: the ``Deployment`` that answered; else None."""
        return self._deployment
