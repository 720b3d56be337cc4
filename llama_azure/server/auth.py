"""Who may call the server: API keys, and pluggable token validators (Entra ID, ``--entra``).

Accepted forms, as on the real endpoints: ``Authorization: Bearer KEY``, ``api-key: KEY`` and the raw key in
``Authorization`` without a scheme (an old Meta notebook sends that). ``--entra`` adds
:class:`~llama_azure.server.identity.EntraIdentity`, a :class:`TokenValidator` that checks a JWT bearer
token; it plugs into :class:`Authenticator` next to the key check.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from . import errors


@dataclass(frozen=True)
class Principal:
    """The caller, once authenticated. ``kind`` is ``"key"`` or the name of a token validator."""

    kind: str
    subject: str = ""


class TokenRejected(Exception):
    """Raised by a validator for a token of its kind that it refuses; ``message`` says why (never the token)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TokenValidator(Protocol):
    """Checks a bearer token; returns the caller, or None when the token is not one of its kind.

    A validator may raise :class:`TokenRejected` for a token of its kind that it refuses (expired, wrong
    audience, bad signature): the 401 then says why, unless another presented credential is accepted.
    """

    name: str

    def validate(self, token: str) -> Principal | None: ...


class KeyValidator:
    """Compares the presented secret with the configured API keys in constant time."""

    name = "key"

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = [k.encode() for k in keys if k]

    def validate(self, token: str) -> Principal | None:
        presented = token.encode()
        ok = False
        for key in self._keys:
            ok |= hmac.compare_digest(presented, key)
        return Principal("key") if ok else None

    def __repr__(self) -> str:
        return f"KeyValidator(<{len(self._keys)} keys>)"


def presented_credentials(headers: Mapping[str, str]) -> list[str]:
    """The secrets a request presents, in the order they are tried."""
    found: list[str] = []
    api_key = headers.get("api-key")
    if api_key:
        found.append(api_key.strip())
    authorization = headers.get("authorization")
    if authorization:
        value = authorization.strip()
        scheme, _, rest = value.partition(" ")
        if scheme.lower() == "bearer" and rest.strip():
            found.append(rest.strip())
        elif value:
            found.append(value)
    return found


class Authenticator:
    """Tries each validator on each presented credential; raises 401 when none accepts."""

    def __init__(self, validators: Sequence[TokenValidator]) -> None:
        self._validators = list(validators)

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        rejected: TokenRejected | None = None
        for credential in presented_credentials(headers):
            for validator in self._validators:
                try:
                    principal = validator.validate(credential)
                except TokenRejected as exc:
                    rejected = rejected or exc
                    continue
                if principal is not None:
                    return principal
        if rejected is not None:
            raise errors.invalid_token(rejected.code, rejected.message)
        raise errors.unauthorized()

    def __repr__(self) -> str:
        return f"Authenticator({[v.name for v in self._validators]})"
