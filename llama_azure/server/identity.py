"""Microsoft Entra ID, offline: a managed-identity token endpoint and the validator of its tokens.

``llama-azure serve --entra`` turns both on. The token endpoint speaks the App Service protocol that
azure-identity's ``ManagedIdentityCredential`` (and so ``DefaultAzureCredential``) uses when
``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER`` are set::

    GET /msi/token?api-version=2019-08-01&resource=https://ml.azure.com[&client_id=...]
    X-IDENTITY-HEADER: <secret>
    -> {"access_token": "<JWT>", "expires_on": "1735689600", "resource": "...", "token_type": "Bearer", ...}

Tokens are RS256 JWTs signed by the server's own key; their ``aud`` is the requested resource, so a
client that asks for the wrong scope gets a token this server refuses ("audience is incorrect"), as
Azure does. Nothing here logs or echoes a token or the identity header.
"""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .auth import Principal, TokenRejected

DEFAULT_AUDIENCE = "https://ml.azure.com"
DEFAULT_TOKEN_LIFETIME = 3600.0
TOKEN_PATH = "/msi/token"
ISSUER = "https://sts.windows.net/00000000-0000-0000-0000-00000000llama/"
MSI_API_VERSION = "2019-08-01"
DEFAULT_CLIENT_ID = "00000000-0000-0000-0000-000000000001"


def _normalize_audience(value: str) -> str:
    return value.strip().removesuffix("/.default").rstrip("/")


def load_or_create_key(path: Path | None) -> rsa.RSAPrivateKey:
    """The signing key: an RSA private key from a PEM file, or a fresh 2048-bit one."""
    if path is None:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    return key


@dataclass
class EntraIdentity:
    """Issues tokens (the managed-identity endpoint) and validates them (a ``TokenValidator``)."""

    identity_header: str
    audience: str = DEFAULT_AUDIENCE
    token_lifetime: float = DEFAULT_TOKEN_LIFETIME
    key: rsa.RSAPrivateKey = field(default_factory=lambda: load_or_create_key(None))
    tokens_issued: int = 0
    tokens_refused: int = 0
    name: str = "entra"

    def __post_init__(self) -> None:
        self.audience = _normalize_audience(self.audience)
        self._public_key = self.key.public_key()

    def __repr__(self) -> str:  # never show the header secret or the key
        return f"EntraIdentity(audience={self.audience!r}, token_lifetime={self.token_lifetime:g})"

    # -- issuing ---------------------------------------------------------------------------------------

    def issue(self, resource: str, *, client_id: str | None = None, now: float | None = None) -> dict[str, Any]:
        """A token response for ``resource``, as the App Service endpoint answers it."""
        issued_at = int(time.time() if now is None else now)
        expires_on = issued_at + int(self.token_lifetime)
        subject = client_id or DEFAULT_CLIENT_ID
        claims = {
            "aud": resource,
            "iss": ISSUER,
            "sub": subject,
            "appid": subject,
            "oid": subject,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": expires_on,
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "llama-azure-reference"})
        self.tokens_issued += 1
        return {
            "access_token": token,
            "expires_on": str(expires_on),  # App Service sends epoch seconds as a string
            "resource": resource,
            "token_type": "Bearer",
            "client_id": subject,
        }

    async def token_endpoint(self, request: Request) -> Response:
        """``GET /msi/token``: the App Service managed-identity protocol (api-version 2019-08-01)."""
        presented = request.headers.get("x-identity-header", "")
        if not hmac.compare_digest(presented.encode(), self.identity_header.encode()):
            return JSONResponse(
                {"statusCode": 401, "message": "The X-IDENTITY-HEADER header is missing or wrong."}, status_code=401
            )
        version = request.query_params.get("api-version")
        if version != MSI_API_VERSION:
            return JSONResponse(
                {"statusCode": 400, "message": f"api-version must be {MSI_API_VERSION}."}, status_code=400
            )
        resource = request.query_params.get("resource", "").strip()
        if not resource:
            return JSONResponse({"statusCode": 400, "message": "The resource parameter is required."}, status_code=400)
        return JSONResponse(self.issue(resource, client_id=request.query_params.get("client_id")))

    def stats(self) -> dict[str, int]:
        return {"tokens_issued": self.tokens_issued, "tokens_refused": self.tokens_refused}

    # -- validating ------------------------------------------------------------------------------------

    def validate(self, token: str) -> Principal | None:
        """The caller for a valid token; None for something that is not a JWT (an API key, say).

        Raises :class:`TokenRejected` saying why for a JWT this server does not accept.
        """
        if token.count(".") != 2:
            return None
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            return None
        if header.get("alg") != "RS256":
            return self._refuse("InvalidAuthenticationToken", "The access token is not signed with RS256.")
        try:
            claims: Mapping[str, Any] = jwt.decode(
                token,
                self._public_key,
                algorithms=["RS256"],
                options={"require": ["exp", "aud", "iss"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            return self._refuse("ExpiredAuthenticationToken", "The access token is invalid: token expired.")
        except jwt.ImmatureSignatureError:
            return self._refuse(
                "InvalidAuthenticationToken", "The access token is not valid yet (nbf is in the future)."
            )
        except jwt.InvalidSignatureError:
            return self._refuse(
                "InvalidAuthenticationToken",
                "The access token signature is invalid (it was not issued by this server's identity endpoint).",
            )
        except jwt.MissingRequiredClaimError as exc:
            return self._refuse("InvalidAuthenticationToken", f"The access token has no '{exc.claim}' claim.")
        except jwt.InvalidTokenError as exc:
            return self._refuse("InvalidAuthenticationToken", f"The access token is invalid: {type(exc).__name__}.")
        issuer = claims.get("iss")
        if issuer != ISSUER:
            return self._refuse(
                "InvalidAuthenticationTokenIssuer",
                f"The access token issuer is not accepted (expected {ISSUER}, got {str(issuer)[:200]}). "
                "Get the token from this server's identity endpoint.",
            )
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(isinstance(a, str) and _normalize_audience(a) == self.audience for a in audiences):
            shown = ", ".join(str(a)[:200] for a in audiences)
            return self._refuse(
                "InvalidAuthenticationTokenAudience",
                f"The access token audience is incorrect (expected {self.audience}, got {shown}). "
                f"Request the token for scope {self.audience}/.default.",
            )
        return Principal(self.name, subject=str(claims.get("sub", ""))[:200])

    def _refuse(self, code: str, message: str) -> Principal | None:
        self.tokens_refused += 1
        raise TokenRejected(code, message)

