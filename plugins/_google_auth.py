"""Google OAuth 2.0 access tokens from a credentials file, for the Google plugins (ga4, google_business).

Two kinds of file are read:

- a service-account JSON key (`"type": "service_account"`): the plugin signs a
  short-lived RS256 JWT with the key's private key and exchanges it at the
  file's `token_uri` (the JWT bearer flow, RFC 7523);
- an authorized-user file (`"type": "authorized_user"`, as `gcloud auth
  application-default login` writes it, or the `client_id`, `client_secret`,
  `refresh_token` that google-auth's `Credentials.to_json()` writes): the refresh
  token is exchanged for access tokens (RFC 6749 section 6). Google's refresh
  tokens do not rotate, so nothing is ever written back to the file.

Either way an access token lives an hour and is renewed shortly before it
expires, or once after a 401. Messages name the file or the service account,
never a key, secret or token.
"""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tracker.plugin import AuthError, Endpoint, HttpSession

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
REFRESH_GRANT = "refresh_token"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"  # authorized-user files from gcloud leave it out
TOKEN_LIFETIME = 3600
RENEW_EARLY = 300  # seconds before expiry when a token counts as spent
SERVICE_KEY = "a service-account JSON key"
FIX = "download a new JSON key in Google Cloud -> IAM -> Service accounts -> Keys"
FIX_EITHER = "write it again as the plugin's docs page says"


@dataclass(frozen=True)
class ServiceAccount:
    """The parts of a Google service-account key file the JWT flow needs, and the scope it asks for."""

    email: str
    key_id: str
    private_key: rsa.RSAPrivateKey = field(repr=False)
    token_uri: str
    scope: str

    @property
    def who(self) -> str:
        return self.email


@dataclass(frozen=True)
class AuthorizedUser:
    """A person's OAuth consent, kept as a refresh token with the OAuth client it was issued to."""

    path: str
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    token_uri: str

    @property
    def who(self) -> str:
        return f"the OAuth token in {self.path}"


Credentials = ServiceAccount | AuthorizedUser


def _read(path: str, product: str, kind: str, fix: str) -> dict[str, Any]:
    """The file's JSON object; an unreadable or malformed file is a credentials problem, named by path only."""
    try:
        data = json.loads(Path(path).expanduser().read_text())
    except OSError as exc:
        raise AuthError(f"cannot read the {product} key file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise AuthError(f"the {product} key file {path} is not {kind} ({type(exc).__name__}: {exc}); {fix}") from None
    if not isinstance(data, dict):
        raise AuthError(f"the {product} key file {path} is not {kind} (not a JSON object); {fix}")
    return data


def _service_account(data: dict[str, Any], path: str, product: str, scope: str) -> ServiceAccount:
    try:
        key = serialization.load_pem_private_key(data["private_key"].encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the private key is not an RSA key")
        return ServiceAccount(data["client_email"], data.get("private_key_id", ""), key, data["token_uri"], scope)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
        raise AuthError(f"the {product} key file {path} is not {SERVICE_KEY} ({problem}); {FIX}") from None


def load_service_account(path: str, product: str, scope: str) -> ServiceAccount:
    """Read a service-account key; a missing or malformed file is a credentials problem, named by path only."""
    return _service_account(_read(path, product, SERVICE_KEY, FIX), path, product, scope)


def load_credentials(path: str, product: str, scope: str) -> Credentials:
    """A service-account key or an authorized-user file, told apart by their fields."""
    data = _read(path, product, f"{SERVICE_KEY} or an OAuth token file", FIX_EITHER)
    if data.get("type") == "service_account" or "private_key" in data:
        return _service_account(data, path, product, scope)
    fields = ("client_id", "client_secret", "refresh_token")
    missing = [f for f in fields if not isinstance(data.get(f), str) or not data.get(f)]
    if missing:
        raise AuthError(
            f"the {product} credentials file {path} is neither a service-account key nor an OAuth token file "
            f"(no {', '.join(missing)}); {FIX_EITHER}"
        )
    token_uri = data.get("token_uri") or DEFAULT_TOKEN_URI
    if not isinstance(token_uri, str):
        raise AuthError(f"the {product} credentials file {path} has a token_uri that is not text")
    return AuthorizedUser(path, data["client_id"], data["client_secret"], data["refresh_token"], token_uri)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_jwt(account: ServiceAccount, now: int) -> str:
    """An RS256 assertion for the token endpoint (RSASSA-PKCS1-v1_5 with SHA-256)."""
    header = {"alg": "RS256", "typ": "JWT", "kid": account.key_id}
    claims = {
        "iss": account.email,
        "scope": account.scope,
        "aud": account.token_uri,
        "iat": now,
        "exp": now + TOKEN_LIFETIME,
    }
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = account.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def _grant(credentials: Credentials, now: int) -> dict[str, str]:
    """The token request's form for either kind of credentials."""
    if isinstance(credentials, ServiceAccount):
        return {"grant_type": JWT_GRANT, "assertion": signed_jwt(credentials, now)}
    return {
        "grant_type": REFRESH_GRANT,
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
        "refresh_token": credentials.refresh_token,
    }


_BEARER = re.compile(r"[A-Za-z0-9._~+/-]+=*")  # RFC 6750's b64token: what a Bearer header may carry


class AccessToken:
    """The access token for one fetch, renewed shortly before it expires."""

    def __init__(self, account: Credentials, http: HttpSession) -> None:
        self.account, self.http = account, http
        self._token, self._expires = "", 0.0

    def header(self) -> dict[str, str]:
        if time.time() >= self._expires - RENEW_EARLY:
            self._renew()
        return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self) -> None:
        self._expires = 0.0

    def _renew(self) -> None:
        now = int(time.time())
        response = self.http.post(self.account.token_uri, data=_grant(self.account, now))
        if response.status_code != 200:
            raise refused(self.account, response)
        answer = Endpoint.of("Google's token endpoint", self.account.token_uri)
        data = answer.object(answer.json(response))
        token = answer.text(data, "access_token")
        if not _BEARER.fullmatch(token):  # it goes into a header, where a line break or a non-ASCII letter breaks
            raise answer.unreadable('expected a bearer token under "access_token", got text that cannot be one')
        self._token = token
        self._expires = now + answer.number(data.get("expires_in", TOKEN_LIFETIME), 'under "expires_in"')


def refused(account: Credentials, response: Any) -> AuthError:
    """The token endpoint's refusal (`{"error": "invalid_grant", "error_description": ...}`) as what to do."""
    try:
        data = response.json()
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    code = str(data.get("error") or "")
    reason = " ".join(str(data.get("error_description") or code or response.status_code).split())[:200]
    if isinstance(account, ServiceAccount):
        hint = (
            "check this computer's clock"
            if "iat" in reason or "timeframe" in reason
            else "the key was deleted or replaced: create a new JSON key for it"
        )
        return AuthError(f"Google refused the service-account key of {account.email} ({reason}); {hint}")
    if code == "invalid_client" or "client" in reason.lower():
        hint = "its client_id/client_secret are wrong or the OAuth client was deleted: download the client again"
    else:
        hint = (
            "the refresh token expired or was revoked: sign in again and write a new token file (an OAuth app "
            "still in 'Testing' gets tokens that last 7 days: publish it 'In production')"
        )
    return AuthError(f"Google refused {account.who} ({reason}); {hint}")
