"""One redaction for every string that leaves a plugin or an HTTP response.

Platforms echo what they were sent: a token in an error message, a paging
link with `access_token=` in it, a proxy's `user:password@` in a URL. A
`Redactor` holds the secrets known to a run (option values typed `Secret`,
URL userinfo, query parameters and headers named like credentials) and
hides them wherever they occur, whole or as any fragment of FRAGMENT or more
characters: a message cut in the middle of a token must not keep the half it
cut off. Redact first, cut after (`line`).

The store, the log, the summary, `tracker alerts` and the webhook all use
this one module, so a fix here holds everywhere.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode, urlsplit, urlunsplit

from tracker.envref import is_env_ref, resolve_env

if TYPE_CHECKING:
    from tracker.config import Config

MASK = "***"
URL_MASK = "REDACTED"
FRAGMENT = 8  # a run of this many characters of a secret is hidden
SHORTEST = 4  # a shorter "secret" is hidden nowhere: it would blank ordinary words
TOKEN_LIKE_SEGMENT = 16  # a webhook path segment this long is taken for its token

# Query parameters hidden when a URL is shown (paging cursors too: harmless to hide).
SENSITIVE = re.compile(
    r"(token|secret|key|password|passwd|signature|appsecret_proof|auth|code|credential|cookie)", re.IGNORECASE
)
# Header and parameter names whose value is a credential, learnt as a secret of the run.
CREDENTIAL_NAMES = frozenset({
    "token", "access_token", "refresh_token", "id_token", "auth_token", "token_auth", "api_key", "apikey", "key",
    "client_secret", "secret", "password", "passwd", "authorization", "proxy_authorization", "x_api_key",
    "cookie", "appsecret_proof", "signature", "auth",
})
CREDENTIAL_ENDINGS = ("_api_key", "_access_token", "_auth_token", "_secret", "_password")
URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
TRAILING = ".,;:!?)]}"
AUTH_SCHEME = re.compile(r"^(?:bearer|basic|token|oauth|apikey|digest)\s+", re.IGNORECASE)
BEARER_IN_TEXT = re.compile(r"\b(Bearer)\s+[A-Za-z0-9._~+/=-]{16,}")
NAMED_IN_TEXT = re.compile(
    r"""(?P<name>\b(?:access_token|refresh_token|id_token|client_secret|api_key|apikey|token_auth|password|passwd)\b"""
    r"""["']?\s*[:=]\s*["']?)(?!REDACTED|\*\*\*)(?P<value>[^\s"'&,;}]+)""",
    re.IGNORECASE,
)


def is_credential_name(name: str) -> bool:
    """`Authorization`, `X-Api-Key`, `access_token`: names whose value is a secret (not `pagination_token`)."""
    normal = name.strip().lower().replace("-", "_")
    return normal in CREDENTIAL_NAMES or normal.endswith(CREDENTIAL_ENDINGS)


def url_secrets(url: str) -> list[str]:
    """The credentials a URL carries: its userinfo and the values of credential-named query parameters."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found: list[str] = []
    if "@" in parts.netloc:
        found.append(_login_secret(unquote(parts.netloc.rsplit("@", 1)[0])))
    for text in (parts.query, parts.fragment):
        found += [v for k, v in parse_qsl(text, keep_blank_values=True) if is_credential_name(k)]
    return [s for s in found if s]


def webhook_secrets(url: str) -> list[str]:
    """A webhook URL's credentials, plus path segments long enough to be its token (Slack, Discord)."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return []
    return url_secrets(url) + [s for s in path.split("/") if len(s) >= TOKEN_LIKE_SEGMENT]


def header_secrets(name: str, value: str) -> list[str]:
    """The secret in a header named like a credential (any with token, key, auth...): the token after
    `Bearer`, and a Basic pair decoded. Broader than for query parameters: no header carries a paging cursor."""
    if not (is_credential_name(name) or SENSITIVE.search(name)) or not value:
        return []
    bare = AUTH_SCHEME.sub("", value.strip())
    found = [bare]
    if value.strip().lower().startswith("basic "):
        try:
            found.append(_login_secret(base64.b64decode(bare, validate=True).decode("utf-8", "replace")))
        except (binascii.Error, ValueError):
            pass
    return [s for s in found if s]


def _login_secret(userinfo: str) -> str:
    """The secret of a `user:password` pair: the password; a user alone is a token (`https://TOKEN@host`).

    The user name beside a password is no secret, and hiding it would blank ordinary words ("admin").
    """
    user, _, password = userinfo.partition(":")
    return password or user


def _revealed(value: Any) -> str | None:
    """A `tracker.plugin.Secret`'s value, known by its `reveal()`: importing tracker.plugin here would be a cycle."""
    reveal = getattr(value, "reveal", None)
    return str(reveal()) if callable(reveal) else None


@dataclass(frozen=True)
class Redactor:
    """Hides the secrets known to a run. `secrets` go whole and by fragment; `phrases` only whole.

    A phrase is a value whose parts are ordinary (a webhook URL: its scheme and
    host appear in every other URL too), so only the value as a whole is hidden.
    """

    secrets: frozenset[str] = frozenset()
    phrases: frozenset[str] = frozenset()

    # --- building ----------------------------------------------------------

    @classmethod
    def of(cls, values: Iterable[str] = (), phrases: Iterable[str] = ()) -> Redactor:
        secrets = frozenset(v for v in values if len(v or "") >= SHORTEST)
        return cls(secrets, frozenset(p for p in phrases if len(p or "") >= SHORTEST))

    def adding(self, values: Iterable[str] = (), phrases: Iterable[str] = ()) -> Redactor:
        more = Redactor.of(values, phrases)
        if more.secrets <= self.secrets and more.phrases <= self.phrases:
            return self
        return Redactor(self.secrets | more.secrets, self.phrases | more.phrases)

    @classmethod
    def for_options(cls, options: Any) -> Redactor:
        """From a plugin's typed options: every `Secret`, and the credentials inside URL-valued options."""
        if options is None or not dataclasses.is_dataclass(options):
            return cls()
        found: list[str] = []
        for f in dataclasses.fields(options):
            found += _option_secrets(getattr(options, f.name))
        return cls.of(found)

    @classmethod
    def for_config(cls, cfg: Config, env: Mapping[str, str] | None = None) -> Redactor:
        """What the config refers to: values of its ${ENV_VAR}s, credentials in its URLs, the webhook URL.

        Works without the plugins (the log and `tracker alerts` need it before or without a sync).
        """
        env = os.environ if env is None else env
        found: list[str] = []
        phrases: list[str] = []
        for account in cfg.accounts:
            for value in account.options.values():
                secrets, whole = _config_value_secrets(value, env)
                found += secrets
                phrases += whole
        webhook = resolve_env(cfg.alerts.webhook_url or "", env)
        if webhook:
            found += webhook_secrets(webhook)
            phrases.append(webhook)  # a webhook URL often carries its token in the path
        found += url_secrets(cfg.database)
        return cls.of(found, phrases)

    # --- using -------------------------------------------------------------

    def text(self, text: str) -> str:
        """`text` with every known secret (whole or 8+ character fragment) and URL credential hidden."""
        if not text:
            return text
        for phrase in sorted(self.phrases, key=len, reverse=True):
            text = text.replace(phrase, MASK)
        text = self._hide_known(text)
        text = URL_IN_TEXT.sub(lambda m: self._url_match(m.group(0)), text)
        text = BEARER_IN_TEXT.sub(lambda m: f"{m.group(1)} {MASK}", text)
        return NAMED_IN_TEXT.sub(lambda m: m.group("name") + MASK, text)

    def line(self, text: str, limit: int | None = None) -> str:
        """One line for a person: whitespace collapsed, redacted, and only then cut to `limit` characters."""
        clean = self.text(" ".join(str(text).split()))
        if limit is not None and len(clean) > limit:
            clean = clean[: limit - 3].rstrip() + "..."
        return clean

    def url(self, url: str) -> str:
        """A URL safe to show: no userinfo, no credential-named query values, no known secret."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return "<unparseable url>"
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{URL_MASK}@{netloc.rsplit('@', 1)[1]}"
        shown = urlunsplit((parts.scheme, netloc, parts.path, _params(parts.query), _params(parts.fragment)))
        return self._hide_known(shown)

    def mapping(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of JSON-like data with every string value redacted (keys kept: plugins read them)."""
        return {key: self._value(value) for key, value in data.items()}

    def holds(self, text: str) -> bool:
        """True if `text` contains a known secret, whole or as a fragment."""
        return bool(text) and self._hide_known(text) != text

    # --- inside ------------------------------------------------------------

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return self.mapping(value)
        if isinstance(value, (list, tuple)):
            return [self._value(v) for v in value]
        return value

    def _url_match(self, found: str) -> str:
        core = found.rstrip(TRAILING)
        return self.url(core) + found[len(core):]

    @cached_property
    def _forms(self) -> tuple[frozenset[str], re.Pattern[str] | None]:
        """(every FRAGMENT-long piece of a long secret, a pattern for the short ones), as written and URL-encoded."""
        spelled = {form for s in self.secrets for form in (s, quote(s, safe=""), quote_plus(s, safe=""))}
        grams = frozenset(s[i : i + FRAGMENT] for s in spelled for i in range(len(s) - FRAGMENT + 1))
        short = sorted((s for s in spelled if len(s) < FRAGMENT), key=len, reverse=True)
        return grams, (re.compile("|".join(map(re.escape, short))) if short else None)

    def _hide_known(self, text: str) -> str:
        grams, short = self._forms
        if short is not None:
            text = short.sub(MASK, text)
        if not grams or len(text) < FRAGMENT:
            return text
        covered = [False] * len(text)
        for i in range(len(text) - FRAGMENT + 1):
            if text[i : i + FRAGMENT] in grams:
                covered[i : i + FRAGMENT] = [True] * FRAGMENT
        if not any(covered):
            return text
        out: list[str] = []
        for i, ch in enumerate(text):
            if not covered[i]:
                out.append(ch)
            elif i == 0 or not covered[i - 1]:
                out.append(MASK)
        return "".join(out)


def _params(text: str) -> str:
    """A query (or fragment) with credential-like values hidden; left exactly as it was when it has none."""
    pairs = parse_qsl(text, keep_blank_values=True)
    if not any(SENSITIVE.search(k) and v for k, v in pairs):
        return text
    return urlencode([(k, URL_MASK if SENSITIVE.search(k) and v else v) for k, v in pairs], safe="*")


def _option_secrets(value: Any) -> list[str]:
    revealed = _revealed(value)
    if revealed is not None:
        return [revealed]
    if isinstance(value, str):
        return url_secrets(value) if "://" in value else []
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _option_secrets(v)]
    return []


def _config_value_secrets(value: Any, env: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(secrets, phrases) of one config value, read without the plugin's option types.

    A referenced value is taken for a secret; one with a slash or a space (a file path) only as a whole
    phrase, since its pieces are ordinary. A URL, referenced or literal, gives its credentials.
    """
    if isinstance(value, list):
        pairs = [_config_value_secrets(v, env) for v in value]
        return [s for p in pairs for s in p[0]], [s for p in pairs for s in p[1]]
    if not isinstance(value, str):
        return [], []
    resolved = resolve_env(value, env)
    if "://" in resolved:
        return url_secrets(resolved), []
    if not is_env_ref(value):
        return [], []
    return ([], [resolved]) if re.search(r"[/\\\s]", resolved) else ([resolved], [])


def redact_url(url: str) -> str:
    """A URL with its credentials hidden; for callers that know no secrets of a run."""
    return Redactor().url(url)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Free text with these secrets and any URL credentials hidden."""
    return Redactor.of(secrets).text(text)


def literal_secrets(cfg: Config) -> list[str]:
    """The config keys that hold a credential written out in the file (not a ${ENV_VAR}): `config check` warns."""
    held: list[str] = []
    webhook = cfg.alerts.webhook_url or ""
    if webhook and not is_env_ref(webhook) and webhook_secrets(webhook):
        held.append("alerts.webhook_url")
    for account in cfg.accounts:
        for key, value in account.options.items():
            values = value if isinstance(value, list) else [value]
            if any(isinstance(v, str) and not is_env_ref(v) and url_secrets(v) for v in values):
                held.append(f"accounts.{account.name}.{key}")
    if url_secrets(cfg.database):
        held.append("database")
    return held
