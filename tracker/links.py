"""Tagged links: UTM parameters that every analytics plugin maps back to the platform.

A link posted on Instagram without tags often arrives as "direct" (in-app
browsers drop the referrer); with `utm_source=instagram` it cannot be lost.
The source is always the canonical platform key, so the core's attribution
mapping sends it back to exactly that platform; the campaign name starts with
it too, because Matomo keeps only the campaign name of a tagged visit.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tracker.attribution import Attribution, campaign_name
from tracker.errors import ConfigError

MEDIUM = "social"


def tagged(url: str, platform: str, campaign: str | None, attribution: Attribution) -> str:
    """`url` with utm_source=<platform>, utm_medium=social and utm_campaign; other parameters kept."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{url!r}: give a full web address starting with https://")
    if attribution.platform_for_source(platform) != platform:
        raise ConfigError(
            f"--platform {platform!r} is not a platform key the analytics mapping knows; use one of "
            f"{', '.join(sorted(attribution.platforms()))}, or add it under [attribution] sources"
        )
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith("utm_")]
    query += [("utm_source", platform), ("utm_medium", MEDIUM)]
    if campaign:
        query.append(("utm_campaign", campaign_name(platform, campaign)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), parts.fragment))
