"""tracker: tells a small business, honestly, whether social media earns it customers."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """`tracker.__version__`, read from the installed metadata only when asked.

    importlib.metadata costs more than the rest of `tracker --help`; every command imports this package.
    """
    if name != "__version__":
        raise AttributeError(f"module 'tracker' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tracker")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"
