"""Meta Graph API helpers shared by the Facebook and Instagram plugins (not a plugin itself).

Both platforms answer with the same error envelope, the same usage headers, the
same Pacific-midnight `end_time` stamps and the same never-ending `paging.next`
links, so the rules for reading them live here once. Both also hang comment
threads under the account's posts the same way (a top-level comment and its
replies), so turning a thread into care items lives here too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from tracker.plugin import (
    ApiError,
    AuthError,
    CareItem,
    Channel,
    Endpoint,
    HttpSession,
    NotFound,
    Notice,
    QuotaExhausted,
    RateLimited,
    Secret,
    UnexpectedResponse,
)

PACIFIC = ZoneInfo("America/Los_Angeles")
THROTTLE_CODES = frozenset({4, 17, 32, 613, 80001, 80002})
SLOW_DOWN_AT = 80.0  # percent of any usage field: pause between calls
STOP_AT = 95.0  # percent: stop before Graph blocks the app or the Page
MAX_PAUSE = 3.0  # seconds between calls just below STOP_AT
DEFAULT_BACKOFF = 60.0  # seconds, when Graph throttles without saying for how long
LONG_WAIT = 120.0  # seconds: longer waits stop the account (the core waits at most this long)
RETIRED_TEXTS = (
    "must be a valid insights metric",
    "must be one of the following values",
    "is no longer supported",
)
TOKEN_DEAD = {
    463: "has expired",
    460: "was invalidated because the password changed",
    467: "is invalid or the user logged out",
    458: "was revoked because the app was removed",
    459: "needs the user to pass a Facebook checkpoint",
    492: "belongs to an invalid session",
    493: "belongs to a session inactive for 90 days",
}
PERMISSION_CODES = frozenset({10, *range(200, 300)})
MAX_PAGES = 1000  # cursor pages of one edge: a guard against a cursor that never ends, far above real threads
R = TypeVar("R")


class MetricRejected(ApiError):
    """Graph refused a metric by name (retired or unknown): the whole call failed because of it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PermissionDenied(ApiError):
    """The token lacks a permission that an optional part of the fetch needs; the caller skips only that part."""


def denies_permission(error: Mapping[str, Any]) -> bool:
    """Graph's ways of saying "this token may not read that": codes 10 and 200-299, or code 100 naming a permission.

    Code 100 with subcode 33 ("does not exist ... missing permissions") is left out: it is what a deleted
    post or a wrong id answers, too, and that is no reason to stop reading the other threads.
    """
    code = int(_number(error.get("code")))
    sub = int(_number(error.get("error_subcode")))
    message = str(error.get("message") or "").lower()
    return code in PERMISSION_CODES or (code == 100 and sub != 33 and "permission" in message)


@dataclass(frozen=True)
class Usage:
    """How close the app/Page/account is to Graph's rate limit, from the usage headers."""

    percent: float = 0.0  # the highest field of any usage header
    regain_seconds: float = 0.0  # Business Use Case `estimated_time_to_regain_access`

    def pause(self) -> float:
        """Seconds to wait before the next call: none below SLOW_DOWN_AT, rising to MAX_PAUSE near STOP_AT."""
        if self.percent < SLOW_DOWN_AT:
            return 0.0
        return min(MAX_PAUSE, MAX_PAUSE * (self.percent - SLOW_DOWN_AT) / (STOP_AT - SLOW_DOWN_AT))


def read_usage(headers: Mapping[str, str]) -> Usage:
    """Combine X-App-Usage, X-Page-Usage and X-Business-Use-Case-Usage (all in percent)."""
    fields: list[dict[str, Any]] = []
    for name in ("X-App-Usage", "X-Page-Usage"):
        body = _json_header(headers.get(name))
        if isinstance(body, dict):
            fields.append(body)
    buc = _json_header(headers.get("X-Business-Use-Case-Usage"))
    if isinstance(buc, dict):
        for entries in buc.values():  # one list per business id; several ids may appear
            fields += [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    shares = (_number(f.get(k)) for f in fields for k in ("call_count", "total_cputime", "total_time"))
    percent = max(shares, default=0.0)
    regain = max((_number(f.get("estimated_time_to_regain_access")) for f in fields), default=0.0) * 60
    return Usage(percent, regain)


def _json_header(value: str | None) -> Any:
    try:
        return json.loads(value) if value else None
    except ValueError:
        return None


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def backoff(what: str, wait: float, why: str) -> RateLimited | QuotaExhausted:
    """A short wait the core can sit out, or a long one that stops the account until then.

    The core decides whether to wait; the message is what the user reads when it did not (or no longer
    would), so it says the account gave up and when to sync again, never that a retry is on its way.
    """
    wait = max(wait, 1.0)
    until = datetime.now(UTC) + timedelta(seconds=wait)
    if wait > LONG_WAIT:
        return QuotaExhausted(f"{what}: {why}; Graph allows calls again in about {wait / 60:.0f} min", until=until)
    return RateLimited(
        f"{what}: {why}; gave up for this sync: Graph allows calls again in about {wait:.0f} s, "
        f"so sync again after {until:%H:%M} UTC",
        retry_after=wait,
    )


@dataclass(frozen=True)
class Target:
    """What the error messages name: the object asked about and the permissions it needs."""

    what: str  # "Facebook page 123"
    permissions: str  # "read_insights and pages_read_engagement"
    token_hint: str  # where to get a new token


def said_by_graph(error: Mapping[str, Any], redact: Callable[[str], str] = str) -> str:
    """`Graph error 230: (#230) Requires …`: the code and Graph's own words, redacted before they are cut."""
    code = int(_number(error.get("code")))
    sub = int(_number(error.get("error_subcode")))
    message = redact(" ".join(str(error.get("message") or "no message").split()))
    return f"Graph error {code}{f'/{sub}' if sub else ''}: {message[:200]}"


def classify(
    status: int, error: Mapping[str, Any], usage: Usage, target: Target, redact: Callable[[str], str] = str
) -> Exception:
    """Turn Graph's error envelope into a domain error whose one line says what to do.

    Graph echoes what it was sent (the token too), so the message is redacted (`HttpSession.redact`) before
    it is cut: cutting first would leave part of a token the redaction no longer recognises.
    """
    code = int(_number(error.get("code")))
    sub = int(_number(error.get("error_subcode")))
    message = redact(" ".join(str(error.get("message") or "no message").split()))
    said = f"({said_by_graph(error, redact)})"
    if code == 190 or sub in TOKEN_DEAD:
        state = TOKEN_DEAD.get(sub, "is invalid, expired or revoked")
        return AuthError(f"{target.what}: the access token {state} {said}; {target.token_hint}")
    if code in (102, 104):
        return AuthError(f"{target.what}: Graph got no usable access token {said}; {target.token_hint}")
    if code in THROTTLE_CODES:
        return backoff(target.what, usage.regain_seconds or DEFAULT_BACKOFF, f"Graph is throttling calls {said}")
    if code == 100 and any(text in message for text in RETIRED_TEXTS):
        return MetricRejected(message[:240])  # Instagram's version lists every accepted metric name
    if code == 100 and (sub == 33 or "does not exist" in message):
        return NotFound(f"{target.what} does not exist or this token cannot see it {said}; check the id and that "
                        f"the token has {target.permissions}")
    if code == 10 or 200 <= code <= 299 or "app secret proof" in message or "permission" in message:
        return AuthError(f"{target.what}: the token lacks a permission {said}; grant {target.permissions} "
                         f"(apps that require appsecret_proof are not supported: turn that setting off)")
    if code in (1, 2) or error.get("is_transient"):
        return ApiError(f"{target.what}: Graph had a temporary problem {said}; the next sync tries again")
    return ApiError(f"{target.what}: Graph answered HTTP {status} {said}")


class Graph:
    """One account's Graph client: token in the Authorization header, usage headers obeyed, errors classified."""

    def __init__(self, http: HttpSession, base_url: str, version: str, token: Secret, target: Target) -> None:
        self.http = http
        self.root = f"{base_url.rstrip('/')}/{version.strip('/')}"
        self.token = token
        self.target = target
        self.usage = Usage()

    def get(self, path: str, params: Mapping[str, Any], *, optional: bool = False) -> dict[str, Any]:
        """One call's body. `optional`: a missing permission raises PermissionDenied, which the caller skips."""
        if self.usage.percent >= STOP_AT:
            raise backoff(self.target.what, self.usage.regain_seconds or DEFAULT_BACKOFF,
                          f"Graph usage is at {self.usage.percent:.0f}% of the rate limit")
        if self.usage.pause():
            self.http.stop.wait(self.usage.pause())  # a stop request ends the wait; the request below then refuses
        response = self.http.get(
            f"{self.root}/{path.lstrip('/')}",
            params=dict(params),
            headers={"Authorization": f"Bearer {self.token.reveal()}"},
        )
        self.usage = read_usage(response.headers)
        answer = self.endpoint(path)
        body = answer.object(answer.json(response))
        if "error" in body or response.status_code >= 400:
            error = answer.get_object(body, "error") or {}
            if optional and denies_permission(error):
                raise PermissionDenied(said_by_graph(error, self.http.redact))
            raise self.error_for(response.status_code, error)
        return body

    def pages(
        self, path: str, params: Mapping[str, Any], *, optional: bool = False, first: Mapping[str, Any] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page of a cursor-paged edge (posts, comments, media, conversations, messages).

        `paging.next` says whether there is more; we send `after=paging.cursors.after` ourselves instead of
        following the link, which embeds the token. `first` is an edge already read nested in another answer
        (`replies{...}` inside a comment): its first page costs no call.
        """
        answer = self.endpoint(path)
        params = dict(params)
        body = first if first is not None else self.get(path, params, optional=optional)
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            yield answer.objects(body, "data", required=True)
            paging = answer.get_object(body, "paging") or {}
            cursor = (answer.get_object(paging, "cursors") or {}).get("after")
            if not paging.get("next") or not isinstance(cursor, str) or not cursor or cursor in seen:
                return
            seen.add(cursor)
            params["after"] = cursor
            body = self.get(path, params, optional=optional)

    def error_for(self, status: int, error: Mapping[str, Any]) -> Exception:
        """The domain error for Graph's error envelope; a Graph-style API with codes of its own overrides this."""
        return classify(status, error, self.usage, self.target, self.http.redact)

    def endpoint(self, path: str) -> Endpoint:
        """What an unreadable answer to `path` is reported against (the URL's path only: no token)."""
        return Endpoint.of(f"{self.target.what}: Graph", f"{self.root}/{path.lstrip('/')}")

    def series(self, path: str, params: Mapping[str, Any], until: int) -> Iterator[dict[str, Any]]:
        """Every `data[]` entry of an insights call, following `paging.next` only while it stays before `until`.

        Graph's `next` link never runs out (it always points at the following
        window), so the range we asked for is the only end. The link embeds the
        token: we keep only its since/until and send our own request instead.
        """
        params = dict(params)
        answer = self.endpoint(path)
        while True:
            body = self.get(path, params)
            yield from (checked_entry(answer, e) for e in answer.objects(body, "data", required=True))
            paging = answer.get_object(body, "paging") or {}
            following = dict(parse_qsl(urlsplit(str(paging.get("next") or "")).query))
            start = int(_number(following.get("since")))
            if not start or start >= until or start <= int(_number(params.get("since"))):
                return
            params.update(since=start, until=min(int(_number(following.get("until"))) or until, until))


def request_metrics(metrics: Sequence[str], call: Callable[[Sequence[str]], R]) -> tuple[list[R], dict[str, str]]:
    """Ask for all metrics in one call; if Graph refuses one by name, ask one by one.

    One retired metric fails the whole call (code 100), so the fallback makes it
    cost only itself. Returns the results and {refused metric: Graph's reason}.
    """
    try:
        return [call(metrics)], {}
    except MetricRejected as exc:
        if len(metrics) == 1:
            return [], {metrics[0]: exc.reason}
    results: list[R] = []
    refused: dict[str, str] = {}
    for metric in metrics:
        try:
            results.append(call([metric]))
        except MetricRejected as exc:
            refused[metric] = exc.reason
    return results, refused


def pacific_midnight(day: date) -> int:
    """Unix seconds of `day` 00:00 in Los Angeles: how Graph reads a day boundary."""
    return int(datetime.combine(day, time(), PACIFIC).timestamp())


def day_of(end_time: str) -> date:
    """The Pacific day a value belongs to: `end_time` is the following Pacific midnight (07:00/08:00 UTC)."""
    return (datetime.fromisoformat(end_time).astimezone(PACIFIC) - timedelta(hours=12)).date()


def number(value: Any) -> float | None:
    """A metric value as a number; None for dicts, nulls and anything else that is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def checked_entry(answer: Endpoint, entry: dict[str, Any]) -> dict[str, Any]:
    """A `data[]` entry whose `values` are points with a readable `end_time`, or UnexpectedResponse."""
    for point in answer.each_object(answer.get_list(entry, "values"), 'under "values"'):
        if point.get("value") is not None:
            try:
                day_of(answer.text(point, "end_time"))
            except ValueError:
                raise answer.unreadable(f'expected a time under "end_time", got {point["end_time"][:40]!r}') from None
    return entry


def points(entry: Mapping[str, Any]) -> Iterator[tuple[date, float]]:
    """(Pacific day, value) for each time-series point of one `data[]` entry; missing values are skipped, not zero."""
    for point in entry.get("values") or []:
        value = number(point.get("value")) if isinstance(point, dict) else None
        if value is not None and point.get("end_time"):
            yield day_of(point["end_time"]), value


def graph_time(answer: Endpoint, item: Mapping[str, Any], key: str) -> datetime:
    """A `created_time`/`timestamp` like `2026-11-20T16:05:09+0000`, as an aware datetime, or UnexpectedResponse."""
    text = answer.text(item, key)
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        stamp = None
    if stamp is None or stamp.tzinfo is None:
        raise answer.unreadable(f'expected a time with its offset under "{key}", got {text[:40]!r}')
    return stamp


def author_id(answer: Endpoint, item: Mapping[str, Any]) -> str | None:
    """`from.id` of a comment or message; None when Graph leaves the author out. Names and handles are never read."""
    author = answer.get_object(item, "from") or {}
    value = author.get("id")
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Comment:
    """What care needs of one comment (or Messenger message): no text, no author, only whether the account wrote it."""

    id: str
    created: datetime
    mine: bool  # written by the account: its author id is the account's own id (names are never compared)
    hidden: bool = False


def thread_items(platform: str, root: Comment, replies: Sequence[Comment]) -> list[CareItem]:
    """The care items of one thread: a top-level comment and the replies under it.

    Someone else's top-level comment is one inbound item (channel comment), answered by the account's first
    reply in the thread at or after it; follow-ups in that thread are the same conversation and are not
    counted again. Under the account's own top-level comment, each reply from someone else is an inbound item
    (channel reply), answered by the account's next reply there. The account's own comments are yielded as
    `from_account`, so one stored before under another reading is removed, never counted.
    """
    answers = sorted(r.created for r in replies if r.mine)

    def first_answer(after: datetime) -> datetime | None:
        return next((at for at in answers if at >= after), None)

    if root.mine:
        items = [CareItem(platform, Channel.COMMENT, root.id, root.created, from_account=True)]
        items += [CareItem(platform, Channel.REPLY, r.id, r.created, first_answer(r.created), deleted=r.hidden)
                  for r in replies if not r.mine]
    else:
        items = [CareItem(platform, Channel.COMMENT, root.id, root.created, first_answer(root.created),
                          deleted=root.hidden)]
    items += [CareItem(platform, Channel.REPLY, r.id, r.created, from_account=True) for r in replies if r.mine]
    return items


def care_start(since: date, lookback_days: int, zone: Any) -> datetime:
    """The oldest moment whose threads are read: the window's first day minus the care lookback, at midnight."""
    return datetime.combine(since - timedelta(days=lookback_days), time(), zone)


def optional_care(part: Iterator[list[CareItem]], what: str, permission: str) -> Iterator[list[CareItem] | Notice]:
    """Yield a care part, or stop it with one notice: the account's insights, already read, still sync.

    A missing permission names the permission to grant. Any other Graph error (a 500, a timeout) stops care
    for this sync only: items are keyed by id, so the next sync reads the same threads again and loses nothing.
    An answer in a shape we cannot read still fails the account, as every unreadable answer does.
    """
    try:
        yield from part
    except PermissionDenied as exc:
        yield Notice(f"{what} were not read: the token lacks {permission} ({exc}); grant {permission} to "
                     "collect them, the other figures still sync")
    except UnexpectedResponse:
        raise
    except ApiError as exc:
        yield Notice(f"{what} were not read this time ({exc}); the next sync reads them again")
