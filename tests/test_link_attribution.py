"""`tracker link` output, fed back through each analytics fake as the visit's source, lands on its platform."""

from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import noon
from tests.fakes.ga4 import FakeGa4, new_key, write_key_file
from tests.fakes.matomo import FakeMatomo
from tests.fakes.plausible import FakePlausible
from tracker.cli.main import app

DAY = date(2026, 11, 2)
PLATFORMS = ["instagram", "xing", "linkedin", "bluesky"]


def utm(cli, platform, campaign=None):
    args = ["link", "https://shop.example/offer", "--platform", platform] + (
        ["--campaign", campaign] if campaign else []
    )
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    return {k: v[0] for k, v in parse_qs(urlsplit(result.stdout.strip()).query).items()}


def visits(samples, cfg, platform):
    return [
        r["value"]
        for r in samples(cfg.database)
        if (r["platform"], r["metric"], r["day"]) == (platform, "visits", DAY.isoformat())
    ]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_ga4_session_source_from_a_tagged_link_is_attributed_to_its_platform(
    platform, cli, httpserver, tmp_path, make_config, run_sync, samples
):
    key_file, public_key = write_key_file(
        tmp_path, httpserver.url_for("/token"), "t@p.iam.gserviceaccount.com", new_key()
    )
    fake = FakeGa4(httpserver, public_key, email="t@p.iam.gserviceaccount.com")
    fake.add_sessions(DAY, utm(cli, platform, "spring-sale")["utm_source"], 9, 8)
    cfg = make_config(
        {
            "ga": {
                "plugin": "ga4",
                "property_id": fake.property_id,
                "credentials_file": str(key_file),
                "base_url": httpserver.url_for("/"),
            }
        }
    )
    assert run_sync(cfg, now=noon(date(2026, 11, 23))).ok
    assert visits(samples, cfg, platform) == [9.0]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_plausible_source_from_a_tagged_link_is_attributed_to_its_platform(
    platform, cli, httpserver, make_config, run_sync, samples, monkeypatch
):
    fake = FakePlausible(httpserver, key="k")
    fake.add_visits(DAY, utm(cli, platform)["utm_source"], 7, 7)
    monkeypatch.setenv("PLAUSIBLE_KEY", "k")
    cfg = make_config(
        {
            "pl": {
                "plugin": "plausible",
                "site_id": fake.site_id,
                "token": "${PLAUSIBLE_KEY}",
                "base_url": httpserver.url_for("/"),
            }
        }
    )
    assert run_sync(cfg, now=noon(date(2026, 11, 23))).ok
    assert visits(samples, cfg, platform) == [7.0]


@pytest.mark.parametrize("campaign", [None, "Spring-Sale"])
@pytest.mark.parametrize("platform", PLATFORMS)
def test_matomo_campaign_from_a_tagged_link_is_attributed_to_its_platform(
    platform, campaign, cli, httpserver, make_config, run_sync, samples, monkeypatch
):
    """Matomo keeps the campaign name (lower-cased), or utm_source when there is none."""
    fake = FakeMatomo(httpserver, token="t" * 32)
    query = utm(cli, platform, campaign)
    fake.add(DAY, "campaign", query.get("utm_campaign", query["utm_source"]).lower(), 5)
    monkeypatch.setenv("MATOMO_TOKEN", "t" * 32)
    cfg = make_config(
        {
            "mt": {
                "plugin": "matomo",
                "base_url": httpserver.url_for("/"),
                "site_id": fake.site_id,
                "token": "${MATOMO_TOKEN}",
            }
        }
    )
    assert run_sync(cfg, now=noon(date(2026, 11, 23))).ok
    assert visits(samples, cfg, platform) == [5.0]
