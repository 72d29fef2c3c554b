"""Map a referrer host or UTM source to the platform it stands for.

Analytics tools report where a visit came from as a hostname (`l.facebook.com`),
a shortener (`t.co`, `lnkd.in`) or a tag (`utm_source=ig`). All of them must
land on one platform key, or a platform's conversions silently split.
Users extend the table from the `[attribution]` section of the config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

BUILTIN_HOSTS: dict[str, str] = {
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "fb.me": "facebook",
    "messenger.com": "facebook",
    "instagram.com": "instagram",
    "threads.net": "threads",
    "threads.com": "threads",
    "t.co": "x",
    "x.com": "x",
    "twitter.com": "x",
    "linkedin.com": "linkedin",
    "lnkd.in": "linkedin",
    "youtube.com": "youtube",
    "youtu.be": "youtube",
    "xing.com": "xing",
    "bsky.app": "bluesky",
    "go.bsky.app": "bluesky",
    "tiktok.com": "tiktok",
    "pinterest.com": "pinterest",
    "pin.it": "pinterest",
    # Pinterest also serves pins under country domains (www.pinterest.de/pin/...): their referrers are Pinterest's
    "pinterest.de": "pinterest",
    "pinterest.at": "pinterest",
    "pinterest.ch": "pinterest",
    "pinterest.co.uk": "pinterest",
    "pinterest.fr": "pinterest",
    "pinterest.ca": "pinterest",
    "pinterest.com.au": "pinterest",
    "reddit.com": "reddit",
}

# utm_source values people and tools actually use; canonical keys map to themselves.
BUILTIN_SOURCES: dict[str, str] = {
    "fb": "facebook",
    "facebook": "facebook",
    "ig": "instagram",
    "insta": "instagram",
    "instagram": "instagram",
    "twitter": "x",
    "x": "x",
    "linkedin": "linkedin",
    "li": "linkedin",
    "youtube": "youtube",
    "yt": "youtube",
    "xing": "xing",
    "bluesky": "bluesky",
    "bsky": "bluesky",
    "mastodon": "mastodon",
    "tiktok": "tiktok",
    "pinterest": "pinterest",
    "threads": "threads",
    "google_business": "google_business",
    "gbp": "google_business",
    "gmb": "google_business",
}

DIRECT_MARKERS = {"", "(direct)", "direct", "(none)"}
CAMPAIGN_SEPARATOR = "-"


def campaign_name(platform: str, campaign: str) -> str:
    """`spring-sale` posted on instagram -> `instagram-spring-sale` (see platform_for_campaign)."""
    prefix = platform + CAMPAIGN_SEPARATOR
    return campaign if campaign.lower().startswith(prefix) else prefix + campaign


@dataclass(frozen=True)
class Attribution:
    """The mapping in force: built-ins plus the user's extra hosts and sources."""

    hosts: Mapping[str, str] = field(default_factory=lambda: dict(BUILTIN_HOSTS))
    sources: Mapping[str, str] = field(default_factory=lambda: dict(BUILTIN_SOURCES))

    def extended(self, hosts: Mapping[str, str] | None = None, sources: Mapping[str, str] | None = None) -> Attribution:
        return Attribution(
            hosts={**self.hosts, **{_host(k): v for k, v in (hosts or {}).items()}},
            sources={**self.sources, **{k.strip().lower(): v for k, v in (sources or {}).items()}},
        )

    def platforms(self) -> set[str]:
        """Every platform key the mapping can produce: a key names itself as a UTM source."""
        return set(self.hosts.values()) | set(self.sources.values())

    def platform_for_host(self, host: str) -> str | None:
        """`l.facebook.com` -> facebook: the longest known suffix of the host wins."""
        host = _host(host)
        labels = host.split(".")
        for i in range(len(labels) - 1):
            platform = self.hosts.get(".".join(labels[i:]))
            if platform:
                return platform
        return None

    def platform_for_campaign(self, name: str) -> str | None:
        """A campaign name as `tracker link` writes it (`instagram-spring-sale`), or a bare source name.

        Matomo keeps only the campaign name of a tagged visit, so the platform travels inside it.
        """
        value = name.strip().lower()
        platform = self.platform_for_source(value)
        if platform not in ("other", "direct"):
            return platform
        prefix = value.split(CAMPAIGN_SEPARATOR, 1)[0]
        return prefix if CAMPAIGN_SEPARATOR in value and prefix in self.platforms() else None

    def platform_for_source(self, source: str) -> str:
        """A UTM source, referrer host or URL -> platform key, `direct` or `other`."""
        value = source.strip().lower()
        if value in DIRECT_MARKERS:
            return "direct"
        if value in self.sources:
            return self.sources[value]
        if value in self.platforms():
            return value
        platform = self.platform_for_host(value)
        return platform or "other"


def _host(value: str) -> str:
    value = value.strip().lower()
    if "://" in value:
        value = urlsplit(value).hostname or ""
    else:
        value = value.split("/", 1)[0].split(":", 1)[0]
    return value.removeprefix("www.").rstrip(".")
