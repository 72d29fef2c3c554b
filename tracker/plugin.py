"""The public plugin API: the only tracker module a plugin imports.

A plugin is a module with a module-level `plugin = Plugin(...)`. Its fetch
function receives the account's typed options, the window of days to fetch,
an HTTP session (timeouts, retries, Retry-After, redaction) and the state it
saved last time, and yields what it found:

- `Sample` (or a list of them, one page at a time): one number for one day;
- `Series` (or a list of them, beside or instead of samples): one metric's numbers over several days, as
  services answer them (a metric's values by day), checked and stored column by column;
- `Unavailable`: a metric the platform no longer serves, reported as missing;
- `Conversion`: one order or lead (shop exports), kept as a record so that
  re-imports add nothing and the daily figures are recomputed exactly;
- `PostStat` (or a list of them): one of the account's own posts and its
  likes, reposts and replies as read now, so the report can name the
  period's best posts (see PostStat);
- `CareItem` (or a list of them): one question, comment, mention, message or
  review from someone else, with when it came and when the account first
  replied; the core turns these facts into the care metrics (see CareItem);
- `Notice`: something the user should know that did not stop the fetch
  (a bad CSV row, named by file and line);
- `State`: what to remember for the next run, saved with the samples.

The core validates everything yielded, writes an account's samples and state
in one transaction, and never lets one plugin's failure stop another account.

Read a service's JSON with `Endpoint` (or `read_json`, `expect_list`): an
answer in a shape the plugin cannot read must raise `UnexpectedResponse`,
never yield nothing, or the days it held would be skipped for good.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from itertools import repeat
from typing import Any, TypeAlias, TypeGuard
from zoneinfo import ZoneInfo

from tracker.attribution import Attribution
from tracker.errors import ApiError, AuthError, NotFound, PluginError, QuotaExhausted, RateLimited, UnexpectedResponse
from tracker.http import HttpSession
from tracker.ids import CONTENT_ID_PREFIX, content_id
from tracker.shape import Endpoint, expect_list, expect_object, read_json

__all__ = [
    "ApiError",
    "Attribution",
    "AuthError",
    "Basis",
    "CareItem",
    "Channel",
    "Conversion",
    "CONTENT_ID_PREFIX",
    "content_id",
    "ConversionSource",
    "Endpoint",
    "HttpSession",
    "NotFound",
    "Notice",
    "Plugin",
    "PluginError",
    "PostStat",
    "QuotaExhausted",
    "RateLimited",
    "Sample",
    "Secret",
    "Series",
    "State",
    "Unavailable",
    "UnexpectedResponse",
    "Window",
    "expect_list",
    "expect_object",
    "next_midnight",
    "option",
    "read_json",
]


@dataclass(frozen=True, slots=True, init=False)
class Sample:
    """One number: `metric` about `platform` on `day` (the platform's own day)."""

    platform: str
    metric: str
    day: date
    value: float
    provisional: bool = False

    def __init__(self, platform: str, metric: str, day: date, value: float, provisional: bool = False) -> None:
        """The generated one of a frozen dataclass, without its `object.__setattr__` lookup per field.

        A fetch makes thousands of samples: each field is set through its slot's own setter (the frozen
        class's `__setattr__` refuses), which takes about half the time. Equality, hash, repr, `replace`
        and the refusal of later changes are the dataclass's own.
        """
        _SET_PLATFORM(self, platform)
        _SET_METRIC(self, metric)
        _SET_DAY(self, day)
        _SET_VALUE(self, value)
        _SET_PROVISIONAL(self, provisional)


_SET_PLATFORM, _SET_METRIC, _SET_DAY, _SET_VALUE, _SET_PROVISIONAL = (
    vars(Sample)[name].__set__ for name in ("platform", "metric", "day", "value", "provisional")
)


@dataclass(frozen=True, slots=True)
class Series:
    """One metric about one platform over several days: `values[i]` is the number for `days[i]`.

    The same numbers as one `Sample` per day, under the same rules (each day a date in the window, each value
    a finite number in the metric's range; a bad value is reported exactly as a Sample's would be), checked
    and stored column by column, without an object per day: the shape in which services answer (a metric's
    values by day), and the cheap one for a fetch of many days. A service that answers a row per day (day,
    then one value per metric) gives its columns with `days, *columns = zip(*rows)`.

    `provisional` is True or False for every day, or a sequence of them, one per day
    (`[window.is_provisional(d, 3) for d in days]`). The core copies the sequences when the series is
    yielded, so a plugin may reuse its lists afterwards.
    """

    platform: str
    metric: str
    days: Sequence[date]
    values: Sequence[float]
    provisional: bool | Sequence[bool] = False

    def samples(self) -> list[Sample]:
        """The same numbers as one Sample per day, in order; days and values must be as many."""
        flags = self.provisional if per_day(self.provisional) else repeat(bool(self.provisional))
        return list(map(Sample, repeat(self.platform), repeat(self.metric), self.days, self.values, flags))


def per_day(provisional: object) -> TypeGuard[Sequence[bool]]:
    """Whether a series' `provisional` gives one flag per day (a sequence) rather than one for every day."""
    return isinstance(provisional, Sequence) and not isinstance(provisional, (str, bytes))


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A metric the platform refused or retired; the report shows it as missing, never zero."""

    platform: str
    metric: str
    reason: str


class Basis(StrEnum):
    """How a conversion was tied to a platform; the report states it beside every figure."""

    SESSION_SOURCE = "session_source"
    UTM = "utm"
    COUPON = "coupon"
    SELF_REPORTED = "self_reported"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class Conversion:
    """One order or lead, keyed by `id` (an order number, or a hash of the row) within its account.

    `amount` is None when the source does not say it (a sheet without an amount column): the order counts and
    the day's revenue is reported missing, never as a too-small sum. Refunds are negative amounts; a lead
    without a known worth is 0.

    `export` names the complete export the record was read from (a file name), and `ref` then begins with it
    and a space ("orders.csv line 14"). Each export a fetch yields is taken as the whole truth about the days
    its records span: a record the account stored from that export, dated within those days, that the fetch
    no longer yields is removed (the shop deleted or cancelled it). Leave it empty for records that are not
    read from complete exports.
    """

    id: str
    platform: str
    day: date
    kind: str = "order"  # order | lead
    amount: float | None = 0.0
    currency: str | None = None
    basis: Basis = Basis.SELF_REPORTED
    ref: str = ""  # where it came from, e.g. "orders.csv line 14"
    note: str = ""
    export: str = ""


class Channel(StrEnum):
    """Where an inbound item reached the account; the detailed care report (`tracker report --care`) splits by it."""

    COMMENT = "comment"  # a comment on one of the account's posts, videos or media
    REPLY = "reply"  # a reply to the account (Bluesky, Mastodon, X threads), or to its comment
    MENTION = "mention"  # someone named the account in their own post
    MESSAGE = "message"  # a direct message or a conversation (Messenger, Instagram Direct)
    REVIEW = "review"  # a review (Google Business Profile), answered by an owner reply


@dataclass(frozen=True, slots=True)
class CareItem:
    """One inbound item from someone else, and whether and when the account first replied to it.

    The facts only: the core stores no text, no author, no handle, so this class has no field for
    them, and the report shows aggregates (inbound, answered, reply rate, time to first reply).

    - `item_id`: the platform's id of the item (comment id, conversation id, review name), the same on
      every run. The core stores only a salted SHA-256 of it (the salt is random per database), which
      identifies the item on a re-sync and cannot be turned back into the platform's id.
    - `created_at`: when the item arrived, an aware datetime (any zone; stored as UTC).
    - `first_reply_at`: when the account first answered it (a reply by the account in the thread, an
      answer in the conversation, an owner reply to a review), an aware datetime not before
      `created_at`; None while unanswered. A later sync that sees the reply updates the stored item;
      one that no longer sees it keeps the reply already recorded.
    - `from_account`: True for the account's own comments and replies, which are not inbound: yield them
      or leave them out, they are never counted (and one stored before is removed).
    - `deleted`: True when the platform says the item was deleted or hidden: it is kept, marked, and no
      longer counted.

    Yield items from recent threads on every run (like the lookback for samples), including older items
    whose reply just appeared: an item is keyed by its id, so a re-sync never counts it twice. Response
    times count the owner's business hours (config `[care]`), in the account's time zone.
    """

    platform: str
    channel: Channel | str
    item_id: str
    created_at: datetime
    first_reply_at: datetime | None = None
    from_account: bool = False
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class PostStat:
    """One of the account's own posts, with its lifetime counts as read now, on the day it was published.

    The core keeps, per account, platform and day, the few posts with the most and the fewest interactions
    (likes + reposts + replies), so `tracker report --posts` and the HTML report can name the period's best
    posts. It stores what these fields hold and nothing else: never the text of a post, and nothing about
    the people who liked, reposted or replied, so this class has no field for them.

    - `post_id`: the platform's id of the post, the same on every run (a re-read updates the stored counts).
    - `url`: the post's web address (http or https), or "" when the platform gives none.
    - `published`: the day the post was published, by the same clock as the plugin's per-post samples
      (the account's timezone); it must lie in the fetch window, up to today.
    - `likes`, `reposts`, `replies`: lifetime counts as read now; None where the platform did not say
      (never 0 for "not counted").

    Yield one for each post whose counts the plugin sums into its `post_*` samples: re-reading the last
    `post_lookback_days` on every run then keeps the stored counts as last read.
    """

    platform: str
    post_id: str
    url: str
    published: date
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """A problem worth telling the user that did not stop the fetch."""

    message: str


@dataclass(frozen=True, slots=True)
class State:
    """The plugin's memory between runs (cursors, ids); JSON-serialisable."""

    data: dict[str, Any]


Yielded: TypeAlias = (
    Sample | Series | Iterable[Sample | Series] | Unavailable | Conversion | Iterable[Conversion] | CareItem
    | Iterable[CareItem] | PostStat | Iterable[PostStat] | Notice | State
)


@dataclass(frozen=True)
class Window:
    """The days to fetch, inclusive, as the core planned them.

    `today` is the account's today; plugins that record "now" values (followers
    as a daily snapshot) put them on `today`.
    """

    since: date
    until: date
    today: date
    timezone: ZoneInfo

    def days(self) -> Iterator[date]:
        return map(date.fromordinal, range(self.since.toordinal(), self.until.toordinal() + 1))

    def chunks(self, max_days: int) -> Iterator[Window]:
        """Split into windows of at most `max_days` days, for APIs with a maximum span."""
        start = self.since
        while start <= self.until:
            end = min(start + timedelta(days=max_days - 1), self.until)
            yield dataclasses.replace(self, since=start, until=end)
            start = end + timedelta(days=1)

    def is_provisional(self, day: date, revision_days: int) -> bool:
        """True for days the platform may still revise (the last `revision_days` days)."""
        return day > self.today - timedelta(days=revision_days)


def next_midnight(tz: ZoneInfo, now: datetime | None = None) -> datetime:
    """The next midnight in `tz`: when a daily quota counted per day in that zone resets."""
    local = (now or datetime.now(tz)).astimezone(tz)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tz)


class Secret:
    """A secret option value: hidden from repr, str and tracebacks; call reveal() to use it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def option(default: Any = dataclasses.MISSING, *, help: str) -> Any:
    """Declare one option of a plugin's options dataclass, with the help text users see."""
    if isinstance(default, (list, dict)):
        value = default
        return field(default_factory=lambda: type(value)(value), metadata={"help": help})
    return field(default=default, metadata={"help": help})


class ConversionSource(StrEnum):
    """How a plugin's conversion numbers are known; first-party data wins over analytics."""

    NONE = "none"
    FIRST_PARTY = "first_party"
    ANALYTICS = "analytics"


FetchFn = Callable[[Any, Window, HttpSession, dict[str, Any]], Iterable[Yielded]]


@dataclass(frozen=True)
class Plugin:
    """What a plugin declares about itself.

    `platforms` lists what its numbers are about; `("*",)` means any platform
    (web analytics sees visits from everywhere). `options` is a dataclass whose
    fields are the account's options; fields typed `Secret` must be given as
    `${ENV_VAR}` references; a field typed `Attribution` receives the config's
    referrer/UTM -> platform mapping. `day_rule` tells users which clock decides
    a day. `lookback_option` names an option whose value, when set, is the
    lookback (per-post plugins: `post_lookback_days`). `attribution` says how its conversions are tied to a platform and
    over what window (the report repeats it). `check(options, http)` makes one cheap authenticated call for
    `tracker accounts check` and returns a one-line description of what it
    found, or raises AuthError/NotFound/... naming the exact problem.
    `rate_limit` ("200/hour"; N per second, minute, hour or day) is the most requests the service takes from one
    app on one host: the core's HTTP sessions of all the plugin's accounts wait to keep under it, unless the
    user's config `[rate_limits]` says otherwise.
    """

    name: str
    platforms: tuple[str, ...]
    fetch: FetchFn
    options: type | None = None
    description: str = ""
    lookback_days: int | None = None
    lookback_option: str | None = None
    day_rule: str = "the account's timezone"
    conversion_source: ConversionSource = ConversionSource.NONE
    covers_all_platforms: bool = False
    metrics: dict[str, str] = field(default_factory=dict)
    check: Callable[[Any, HttpSession], str] | None = None
    attribution: str = ""
    rate_limit: str | None = None

    def reports_on(self, platform: str) -> bool:
        return "*" in self.platforms or platform in self.platforms
