"""Domain exceptions.

The core and plugins raise these; only the CLI turns them into a one-line
message and an exit code. Messages are written for the business owner: they
name what to fix and never carry a secret.
"""

from __future__ import annotations

from datetime import datetime


class TrackerError(Exception):
    """Base of every error tracker reports to the user without a traceback."""

    exit_code = 1


class ConfigError(TrackerError):
    """The configuration cannot be used; one problem per line in `problems`."""

    exit_code = 2

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class UsageError(TrackerError):
    """Options that contradict each other or name nothing known: the user's to fix."""

    exit_code = 2


class UnknownAccount(TrackerError):
    exit_code = 2


class UnknownPlugin(TrackerError):
    exit_code = 2


class StoreError(TrackerError):
    """The database cannot be opened or migrated."""


class UnreadableDatabase(StoreError):
    """The database file is damaged or not a database: the user's to restore or replace."""

    exit_code = 2


class NewerSchema(StoreError):
    """The database was migrated by a newer tracker: this release must not read or write it."""

    exit_code = 2


class ReadOnlyDatabase(StoreError):
    """The database file, its folder or its file system cannot be written: the user's to fix or move."""

    exit_code = 2


class DiskFull(StoreError):
    """The disk holding the database is full; the write that hit it was rolled back whole."""

    exit_code = 2


class AccountBusy(TrackerError):
    """Another process holds the account's sync lease; the caller skips the account."""


class AccountBlocked(TrackerError):
    """An earlier run learnt that the account's quota is spent until a known time; the caller skips it."""


class AlertDeliveryFailed(TrackerError):
    """The alerts webhook could not be reached or refused the alerts."""

    exit_code = 2


class SyncInterrupted(TrackerError):
    """A stop was requested (SIGTERM/SIGINT) while an account was syncing."""

    exit_code = 130


# --- raised by plugins ------------------------------------------------------


class PluginError(TrackerError):
    """A plugin could not fetch; the message says why in the user's terms."""


class AuthError(PluginError):
    """The token is missing, invalid, expired or lacks a permission."""


class NotFound(PluginError):
    """The configured page, user, site or property does not exist."""


class ApiError(PluginError):
    """The platform answered with an error the plugin could not classify."""


class RateLimited(PluginError):
    """The platform asked us to slow down; retrying after `retry_after` seconds may work."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QuotaExhausted(PluginError):
    """A daily or monthly quota is spent; nothing will work before `until`."""

    def __init__(self, message: str, until: datetime | None = None) -> None:
        super().__init__(message)
        self.until = until


class UnexpectedResponse(ApiError):
    """The service answered, but not in a shape the plugin can read (or not in JSON): an ApiError too.

    Never read as "no data": the account fails, nothing of the answer is stored and its cursor stays, so the
    days are asked for again on the next sync.
    """


class TimedOut(PluginError):
    """The service was reached but did not answer in time, or the account's time for this sync ran out."""
