"""What the analytics exports of platforms without an API look like: sheets, header names, title lines.

Two plugins must agree on these: `metrics_csv` imports them as daily figures, and `csv` refuses them as order
exports (pointing to `metrics_csv`). Names are compared as `_csv_read.normalise` gives them (lowercase, single
spaces).

LinkedIn's personal (creator) analytics export, `Content_<from>_<to>_<name>.xlsx` (since 2026
`AggregateAnalytics_<name>_<from>_<to>.xlsx`), has five sheets: DISCOVERY (period totals), ENGAGEMENT
(`Date, Impressions, Engagements` per day), TOP POSTS (two side-by-side top-50 tables), FOLLOWERS (a line
`Total followers on M/D/YYYY` with the total, a blank line, then `Date, New followers` per day) and
DEMOGRAPHICS. An export from the Followers page is read the same way: sheets are told by their headers, never
by file or sheet names. Dates are US `M/D/YYYY` text; the 2026 files keep numbers as text too. The English
names are those of real exports (as parsers of them describe them); the German ones are the labels of
LinkedIn's German interface, not checked against a German export.

Xing has no export sample in public: its page statistics are described by the labels of Xing's statistics
pages (German first, as Xing shows them), and any other header is mapped with the account's `columns`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType

DATE_NAMES = frozenset({"date", "datum", "day", "tag"})
METRIC_NAMES = frozenset({"metric", "metrik", "kennzahl"})  # the long layout: date, metric, value per row
VALUE_NAMES = frozenset({"value", "wert"})
SUMMARY_LABELS = frozenset({"total", "totals", "sum", "summe", "gesamt", "insgesamt"})  # a period's sum, not a day

# The FOLLOWERS sheet's title line: `Total followers on 3/31/2026` (the total beside it or after a colon).
TOTAL_FOLLOWERS = re.compile(
    r"^(?:total followers on|follower(?::innen)? insgesamt am|gesamtzahl der follower(?::innen)? am)\s+"
    r"(?P<day>[^:]+?)\s*(?::\s*(?P<value>.*))?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ExportShape:
    """One known export (or one sheet of it), told by a set of header names no other file has.

    `headers`: the telling sets, one per language; a header holding every name of one set is this export.
    `metrics`: column name -> metric of tracker's vocabulary. `month_first`: `a/b/yyyy` dates are month/day when
    no value decides. `daily`: False for sheets without figures per day (top posts, period totals), which
    `refusal` explains.
    """

    name: str
    platform: str
    headers: tuple[frozenset[str], ...]
    metrics: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    month_first: bool = False
    daily: bool = True
    refusal: str = ""

    @property
    def use(self) -> str:
        """Where a file of this shape belongs, for the csv plugin's refusal."""
        if not self.daily:
            return ""
        return f'import it with the metrics_csv plugin (plugin = "metrics_csv", platform = "{self.platform}")'


def _shape(
    name: str, platform: str, *headers: set[str], metrics: dict[str, str] | None = None, month_first: bool = False,
    refusal: str = "",
) -> ExportShape:
    return ExportShape(name, platform, tuple(frozenset(h) for h in headers), MappingProxyType(dict(metrics or {})),
                       month_first, daily=not refusal, refusal=refusal)


LINKEDIN_ENGAGEMENT = _shape(
    "LinkedIn personal analytics export (ENGAGEMENT sheet)", "linkedin",
    {"date", "impressions", "engagements"}, {"datum", "impressionen", "interaktionen"},
    metrics={"impressions": "impressions", "impressionen": "impressions",
             "engagements": "engagements", "interaktionen": "engagements"},
    month_first=True,
)
LINKEDIN_FOLLOWERS = _shape(
    "LinkedIn personal analytics export (FOLLOWERS sheet)", "linkedin",
    {"date", "new followers"}, {"datum", "neue follower"}, {"datum", "neue follower:innen"},
    metrics={"new followers": "followers_gained", "neue follower": "followers_gained",
             "neue follower:innen": "followers_gained"},
    month_first=True,
)
LINKEDIN_TOP_POSTS = _shape(
    "LinkedIn personal analytics export (TOP POSTS sheet)", "linkedin", {"post url", "post publish date"},
    refusal="it ranks posts, it has no figures per day: import the ENGAGEMENT and FOLLOWERS sheets, "
    "or the whole .xlsx",
)
LINKEDIN_DISCOVERY = _shape(
    "LinkedIn personal analytics export (DISCOVERY sheet)", "linkedin", {"overall performance"},
    refusal="it holds the period's totals, not days: import the ENGAGEMENT and FOLLOWERS sheets, "
    "or the whole .xlsx",
)
LINKEDIN_DEMOGRAPHICS = _shape(
    "LinkedIn personal analytics export (DEMOGRAPHICS sheet)", "linkedin", {"top demographics", "percentage"},
    refusal="it describes the audience, not days: import the ENGAGEMENT and FOLLOWERS sheets, "
    "or the whole .xlsx",
)
XING_PAGE = _shape(
    "Xing page statistics export", "xing",
    {"datum", "seitenaufrufe"}, {"datum", "follower", "neue follower"}, {"date", "page views"},
    metrics={
        "follower": "followers", "follower gesamt": "followers", "follower insgesamt": "followers",
        "abonnenten": "followers", "total followers": "followers",
        "neue follower": "followers_gained", "neue abonnenten": "followers_gained", "new followers": "followers_gained",
        "verlorene follower": "followers_lost", "lost followers": "followers_lost",
        "seitenaufrufe": "profile_views", "seitenbesuche": "profile_views", "profilaufrufe": "profile_views",
        "page views": "profile_views", "profile views": "profile_views",
        "impressionen": "impressions", "beitragsimpressionen": "impressions", "post impressions": "impressions",
        "interaktionen": "engagements", "interactions": "engagements",
        "reaktionen": "likes", "reactions": "likes", "gefällt mir": "likes",
        "kommentare": "comments", "geteilt": "shares", "link-klicks": "link_clicks", "linkklicks": "link_clicks",
        "link clicks": "link_clicks",
    },
)

# What the csv plugin refuses by these shapes, in its order (ENGAGEMENT before FOLLOWERS before TOP POSTS).
LINKEDIN_PERSONAL = (LINKEDIN_ENGAGEMENT, LINKEDIN_FOLLOWERS, LINKEDIN_TOP_POSTS)
SHAPES = (*LINKEDIN_PERSONAL, LINKEDIN_DISCOVERY, LINKEDIN_DEMOGRAPHICS, XING_PAGE)


def aliases() -> dict[str, str]:
    """Every column name a shape knows -> its metric; two shapes never give one name two meanings."""
    known: dict[str, str] = {}
    for shape in SHAPES:
        for name, metric in shape.metrics.items():
            if known.setdefault(name, metric) != metric:
                raise AssertionError(f"{name!r} means {known[name]} in one shape and {metric} in {shape.name}")
    return known


def recognise(names: set[str]) -> ExportShape | None:
    """The shape whose telling headers a row's (normalised) names hold; if several do, the one knowing most columns.

    Xing's German page statistics and LinkedIn's German ENGAGEMENT sheet share `Datum, Impressionen,
    Interaktionen`: the columns only Xing has decide.
    """
    matches = [(len(names & s.metrics.keys()), len(h), -i, s) for i, s in enumerate(SHAPES) for h in s.headers
               if h <= names]
    return max(matches, key=lambda m: m[:3])[3] if matches else None
