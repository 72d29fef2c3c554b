"""`tracker link URL --platform P`: a link whose visits cannot be mis-attributed."""

from typing import Annotated

import typer

from tracker.cli.common import ConfigOption, friendly, load_config


@friendly
def link(
    url: Annotated[str, typer.Argument(help="The page to link to, e.g. https://shop.example/offer.")],
    platform: Annotated[
        str, typer.Option("--platform", "-p", help="Where the link will be posted (instagram, xing, ...).")
    ],
    campaign: Annotated[str | None, typer.Option(help="A name for the campaign, e.g. spring-sale.")] = None,
    config: ConfigOption = None,
) -> None:
    """Print URL tagged with UTM parameters that every analytics plugin attributes to the platform."""
    from tracker.links import tagged

    cfg = load_config(config)
    typer.echo(tagged(url, platform, campaign, cfg.attribution))
