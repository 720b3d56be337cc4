"""The base of every response model: tolerant of unknown fields, carrying the request id."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr


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


class ResultModel(ResponseModel):
    """A whole answer (not a part of one): it also carries the HTTP response's request id.

    Only top-level results have the private attribute: pydantic initialises private attributes per
    instance, which would otherwise cost every nested choice and delta of a stream.
    """

    _request_id: str | None = PrivateAttr(default=None)

    @property
    def request_id(self) -> str | None:
        """The id the service gave the HTTP response this object came from (``x-request-id`` and kin)."""
        return self._request_id

    _deployment: Any = PrivateAttr(default=None)

    @property
    def deployment(self) -> Any:
        """With ``LlamaClient(deployments=[...])``: the ``Deployment`` that answered; else None."""
        return self._deployment
