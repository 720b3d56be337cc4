"""The error raised when an Entra ID credential cannot produce a token (nothing was sent)."""

from __future__ import annotations

from ._exceptions import LlamaAzureError

_MAX_DETAIL = 500


class CredentialError(LlamaAzureError):
    """The credential (e.g. an azure-identity ``DefaultAzureCredential``) could not get a token; nothing was sent.

    The credential's own exception is the ``__cause__``. It is not an ``APIError``, so it is never retried:
    a missing login or a refused client secret does not fix itself between attempts.

    >>> from llama_azure._credential_error import CredentialError
    >>> str(CredentialError.from_exception(RuntimeError("no login\\nmore"), "https://ml.azure.com/.default"))
    'the credential could not get a token for scope https://ml.azure.com/.default: RuntimeError: no login'
    """

    def __init__(self, message: str, *, scope: str | None = None) -> None:
        super().__init__(message)
        self.scope = scope

    @classmethod
    def from_exception(cls, error: BaseException, scope: str) -> CredentialError:
        """The error for ``error`` raised by ``credential.get_token(scope)``: its type and first line only."""
        text = str(error).strip()
        first_line = text.splitlines()[0].strip() if text else ""
        if len(first_line) > _MAX_DETAIL:
            first_line = first_line[: _MAX_DETAIL - 3] + "..."
        detail = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
        return cls(f"the credential could not get a token for scope {scope}: {detail}", scope=scope)
