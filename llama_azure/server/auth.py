"""Who may call the server: API keys, and pluggable token validators (Entra ID, ``--entra``).

Accepted forms, as on the real endpoints: ``Authorization: Bearer KEY``, ``api-key: KEY`` and the raw key in
``Authorization`` without a scheme (an old Meta notebook sends that; ``/openai/v1`` refuses it, see
``openai_v1.check_credential_headers``). ``--entra`` adds
:class:`~llama_azure.server.identity.EntraIdentity`, a :class:`TokenValidator` that checks a JWT bearer
token; it plugs into :class:`Authenticator` next to the key check. Tokens go in ``Authorization`` only.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
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


def presented_credentials(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    """The secrets a request presents, as ``(header, secret)`` pairs in the order they are tried."""
    found: list[tuple[str, str]] = []
    api_key = headers.get("api-key")
    if api_key:
        found.append(("api-key", api_key.strip()))
    authorization = (headers.get("authorization") or "").strip()
    if authorization:
        found.append(("authorization", bearer_credential(authorization) or authorization))
    return found


def bearer_credential(authorization: str) -> str | None:
    """The credential of an ``Authorization: Bearer <credential>`` value (any case), else None (a bare key)."""
    scheme, _, rest = authorization.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" and rest.strip() else None


def looks_like_jwt(value: str) -> bool:
    """Three base64url parts, the first a JSON header naming an ``alg``: an access token, not an API key."""
    parts = value.split(".")
    if len(parts) != 3 or not all(parts):
        return False
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (ValueError, binascii.Error):
        return False
    return isinstance(header, dict) and "alg" in header


class Authenticator:
    """Tries each validator on each presented credential; raises 401 when none accepts.

    The ``api-key`` header carries API keys only: token validators read ``Authorization``, and an access
    token found in ``api-key`` is refused with a 401 that says where it belongs.
    """

    def __init__(self, validators: Sequence[TokenValidator]) -> None:
        self._validators = list(validators)

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        rejected: TokenRejected | None = None
        for header, credential in presented_credentials(headers):
            validators = self._validators
            if header == "api-key":
                validators = [v for v in validators if isinstance(v, KeyValidator)]
            for validator in validators:
                try:
                    principal = validator.validate(credential)
                except TokenRejected as exc:
                    rejected = rejected or exc
                    continue
                if principal is not None:
                    return principal
            if header == "api-key" and looks_like_jwt(credential):
                rejected = rejected or TokenRejected(
                    "TokenInApiKeyHeader",
                    "An access token (a JWT) was sent in the api-key header, which takes API keys only. "
                    "Send the token as 'Authorization: Bearer <token>'.",
                )
        if rejected is not None:
            raise errors.invalid_token(rejected.code, rejected.message)
        raise errors.unauthorized()

    def __repr__(self) -> str:
        return f"Authenticator({[v.name for v in self._validators]})"
