"""A made-up bakery's social media, for `tracker demo` and for tests.

It tells the story the surveys describe: Instagram collects likes and
followers but few customers, Facebook gets few likes but brings orders, and
Xing has followers while nothing measures whether it sells. Numbers come from
a seeded generator per (platform, metric, day), so any window gives the same
values for the same day and re-syncs change nothing.

Customer care: Instagram's comments, mentions and direct messages come as
care items (the facts a real plugin yields: arrival, channel, first reply),
about one question every other day and fewer than half answered, slowly;
Facebook keeps daily message and reply counts, as an export would give them.
A reply is only known once its time has passed (before the window's today),
so a later sync finds replies an earlier one could not.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from tracker.plugin import CareItem, ConversionSource, HttpSession, Plugin, Sample, State, Window, option

from ._bounds import within

EPOCH = date(2024, 1, 1)
PROVISIONAL_DAYS = 2


@dataclass(frozen=True)
class Profile:
    """Daily means for one platform; conversion figures are None where nothing tracks them."""

    followers_start: int
    gained: float
    lost: float
    likes: float
    comments: float
    shares: float
    reach: float
    visits: float | None = None
    lead_chance: float = 0.0
    order_chance: float = 0.0
    basket: float = 0.0
    messages: float = 0.0
    reply_share: float = 0.0
    questions: float = 0.0  # care items a day (comments, mentions, direct messages from customers)
    answer_chance: float = 0.0


PROFILES: dict[str, Profile] = {
    "instagram": Profile(
        1800, 9.0, 2.0, 210.0, 14.0, 6.0, 1400.0, visits=7.0, order_chance=0.012, basket=42.0,
        questions=0.5, answer_chance=0.4,
    ),
    "facebook": Profile(
        700, 1.6, 0.7, 11.0, 3.0, 1.5, 260.0, visits=14.0, lead_chance=0.02, order_chance=0.05, basket=38.0,
        messages=2.5, reply_share=0.6,
    ),
    "xing": Profile(260, 0.8, 0.2, 3.0, 0.6, 0.3, 90.0),
}
DIRECT = Profile(0, 0, 0, 0, 0, 0, 0, visits=25.0, lead_chance=0.01, order_chance=0.03, basket=35.0)

MAX_SEED = 2**31 - 1  # any seed gives different data; a bound keeps a typo like 1e9999 out


@dataclass(frozen=True)
class DemoOptions:
    seed: int = option(7, help=f"Changes every number; the same seed always gives the same data (0 to {MAX_SEED}).")

    def __post_init__(self) -> None:
        within("seed", self.seed, 0, MAX_SEED)


def _rng(seed: int, platform: str, metric: str, day: date) -> random.Random:
    return random.Random(f"{seed}|{platform}|{metric}|{day.isoformat()}")


def _count(seed: int, platform: str, metric: str, day: date, mean: float) -> int:
    """A whole-number daily count around `mean`, busier on weekends for Instagram."""
    weekend = 1.25 if platform == "instagram" and day.weekday() >= 5 else 1.0
    return round(mean * weekend * (0.6 + 0.8 * _rng(seed, platform, metric, day).random()))


def _successes(seed: int, platform: str, metric: str, day: date, trials: int, chance: float) -> int:
    rng = _rng(seed, platform, metric, day)
    return sum(rng.random() < chance for _ in range(trials))


def followers(seed: int, platform: str, day: date) -> int:
    """Followers at the end of `day`: the start level plus every day's gains minus losses since EPOCH."""
    p = PROFILES[platform]
    total, d = p.followers_start, EPOCH
    while d <= day:
        total += _count(seed, platform, "followers_gained", d, p.gained) - _count(
            seed, platform, "followers_lost", d, p.lost
        )
        d += timedelta(days=1)
    return total


def day_samples(seed: int, platform: str, day: date, provisional: bool) -> list[Sample]:
    p = PROFILES.get(platform, DIRECT)

    def s(metric: str, value: float) -> Sample:
        return Sample(platform, metric, day, value, provisional)

    out = [] if p is DIRECT else [
        s("followers_gained", _count(seed, platform, "followers_gained", day, p.gained)),
        s("followers_lost", _count(seed, platform, "followers_lost", day, p.lost)),
        s("likes", _count(seed, platform, "likes", day, p.likes)),
        s("comments", _count(seed, platform, "comments", day, p.comments)),
        s("shares", _count(seed, platform, "shares", day, p.shares)),
        s("reach", _count(seed, platform, "reach", day, p.reach)),
    ]
    if p.messages:
        messages = _count(seed, platform, "messages", day, p.messages)
        out += [s("messages", messages), s("replies", round(messages * p.reply_share))]
    if p.visits is not None:
        visits = _count(seed, platform, "visits", day, p.visits)
        leads = _successes(seed, platform, "leads", day, visits, p.lead_chance)
        orders = _successes(seed, platform, "orders", day, visits, p.order_chance)
        revenue = round(
            sum(p.basket * (0.5 + _rng(seed, platform, f"basket{i}", day).random()) for i in range(orders)), 2
        )
        out += [
            s("visits", visits),
            s("leads", leads),
            s("orders", orders),
            s("conversions", leads + orders),
            s("revenue", revenue),
        ]
    return out


CHANNELS = ("comment", "comment", "message", "mention")


def _office_hours(at: datetime) -> datetime:
    """The bakery answers on weekdays from 09:15 to 18:00: a reply due outside them comes 15 to 74 minutes after
    the next opening (the morning's baking comes first), so no demo reply reads "after 0 min".
    """
    if at.weekday() < 5 and time(9, 15) <= at.time() < time(18):
        return at
    day = at.date() + timedelta(days=at.time() >= time(9, 15))
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(9), at.tzinfo) + timedelta(minutes=15 + at.minute)


def day_care(seed: int, platform: str, day: date, window: Window) -> list[CareItem]:
    """The day's questions: arrival between 08:00 and 22:00, a first reply 1 to 72 hours later for some.

    The account's own answer is yielded too, as a real thread walk would (`from_account`): the core never counts it.
    """
    p = PROFILES[platform]
    known_until = datetime.combine(window.today, time(0), window.timezone)  # replies after this have not happened yet
    items = []
    for i in range(_count(seed, platform, "questions", day, p.questions)):
        rng = _rng(seed, platform, f"question{i}", day)
        created = datetime.combine(day, time(8 + int(rng.random() * 14), int(rng.random() * 60)), window.timezone)
        channel = CHANNELS[int(rng.random() * len(CHANNELS))]
        delay = timedelta(minutes=60 + int(rng.random() * 71 * 60))
        answer = _office_hours(created + delay)
        reply = answer if rng.random() < p.answer_chance and answer < known_until else None
        item_id = f"{platform}-{day.isoformat()}-{i}"
        items.append(CareItem(platform, channel, item_id, created, reply))
        if reply is not None and channel == "comment":
            items.append(CareItem(platform, "reply", f"{item_id}-answer", reply, from_account=True))
    return items


def fetch(
    opts: DemoOptions, window: Window, http: HttpSession, state: dict
) -> Iterator[Sample | list[Sample] | list[CareItem] | State]:
    for platform in PROFILES:
        level: float = followers(opts.seed, platform, window.since - timedelta(days=1))
        page: list[Sample] = []
        for day in window.days():
            provisional = window.is_provisional(day, PROVISIONAL_DAYS)
            daily = day_samples(opts.seed, platform, day, provisional)
            level += daily[0].value - daily[1].value
            page += daily + [Sample(platform, "followers", day, level, provisional)]
        yield page
        if PROFILES[platform].questions:
            yield [item for day in window.days() for item in day_care(opts.seed, platform, day, window)]
    yield [
        s
        for day in window.days()
        for s in day_samples(opts.seed, "direct", day, window.is_provisional(day, PROVISIONAL_DAYS))
    ]
    yield State({"last_until": window.until.isoformat(), "runs": int(state.get("runs", 0)) + 1})


def check(opts: DemoOptions, http: HttpSession) -> str:
    return f"made-up bakery, seed {opts.seed}: {', '.join(PROFILES)}"


plugin = Plugin(
    name="demo",
    platforms=tuple(PROFILES),
    fetch=fetch,
    options=DemoOptions,
    description="Made-up numbers for a bakery on Instagram, Facebook and Xing; used by `tracker demo`.",
    lookback_days=PROVISIONAL_DAYS,
    conversion_source=ConversionSource.ANALYTICS,
    day_rule="the account's timezone (the data is generated per calendar day)",
    check=check,
    metrics={
        name: f"Made up for a small bakery: {name.replace('_', ' ')}, with the vocabulary's meaning."
        for name in (
            "followers", "followers_gained", "followers_lost", "likes", "comments", "shares", "reach",
            "messages", "replies", "visits", "leads", "orders", "conversions", "revenue",
        )
    },
)
