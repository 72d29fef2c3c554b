"""How a sync run, or one account's part of it, stands: the words stored in `sync_run` and `account_run`.

A StrEnum, so a member is stored, compared and printed as its word, and rows written before it existed read the same.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    RUNNING = "running"  # still going, or its process died (a later run marks it interrupted)
    OK = "ok"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # stopped by a signal or a dead process: not an attempt, synced again next time
    SKIPPED = "skipped"  # an outcome only, never stored: another process syncs the account, or its quota is spent
    PENDING = "pending"  # an outcome only, never stored: not reached yet
