"""Referrer hosts and UTM sources land on one platform key each."""

import pytest

from tracker.attribution import Attribution


@pytest.mark.parametrize(
    ("source", "platform"),
    [
        ("facebook.com", "facebook"),
        ("m.facebook.com", "facebook"),
        ("l.facebook.com", "facebook"),
        ("lm.facebook.com", "facebook"),
        ("fb", "facebook"),
        ("t.co", "x"),
        ("x.com", "x"),
        ("twitter.com", "x"),
        ("lnkd.in", "linkedin"),
        ("www.linkedin.com", "linkedin"),
        ("instagram.com", "instagram"),
        ("l.instagram.com", "instagram"),
        ("ig", "instagram"),
        ("youtube.com", "youtube"),
        ("m.youtube.com", "youtube"),
        ("youtu.be", "youtube"),
        ("xing.com", "xing"),
        ("bsky.app", "bluesky"),
        ("https://l.facebook.com/l.php?u=https%3A%2F%2Fshop.example", "facebook"),
        ("IG", "instagram"),
    ],
)
def test_builtin_mapping_sends_known_hosts_and_sources_to_their_platform(source, platform):
    assert Attribution().platform_for_source(source) == platform


@pytest.mark.parametrize("source", ["(direct)", "(none)", "", "direct"])
def test_direct_markers_map_to_direct(source):
    assert Attribution().platform_for_source(source) == "direct"


def test_unknown_host_is_kept_as_other_not_dropped():
    assert Attribution().platform_for_source("news.example.org") == "other"


def test_lookalike_host_is_not_mistaken_for_a_platform():
    assert Attribution().platform_for_source("notfacebook.com") == "other"
    assert Attribution().platform_for_source("microsoft.co") == "other"


def test_config_extends_the_mapping_with_hosts_and_sources():
    mapping = Attribution().extended(hosts={"mastodon.social": "mastodon"}, sources={"Newsletter": "email"})
    assert mapping.platform_for_source("https://mastodon.social/@bakery") == "mastodon"
    assert mapping.platform_for_source("newsletter") == "email"
    assert mapping.platform_for_source("l.facebook.com") == "facebook"


def test_extending_leaves_the_original_mapping_unchanged():
    base = Attribution()
    base.extended(hosts={"mastodon.social": "mastodon"})
    assert base.platform_for_source("mastodon.social") == "other"
