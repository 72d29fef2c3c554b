"""tracker: tells a small business, honestly, whether social media earns it customers."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tracker")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
