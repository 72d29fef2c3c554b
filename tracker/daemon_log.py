"""Logging for the long-running commands: structured lines on stderr and in a rotating file.

One line per event, `key=value` pairs (logfmt), so `grep account=shop` and
log shippers both work. Every line is redacted on its way out: the secret
values the config references and credentials inside URLs never reach a log.
Only the CLI calls `logging_to`; library modules just use `logging.getLogger`.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from tracker.redact import Redactor

if TYPE_CHECKING:
    from tracker.config import Config

LOG_FILE = "tracker.log"
MAX_BYTES = 1_000_000
BACKUPS = 5
LOGGERS = ("tracker", "apscheduler")


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir("tracker"))


def fields(**values: Any) -> dict[str, Any]:
    """`log.info("sync finished", extra=fields(run=3))` adds `run=3` to the line."""
    return {"fields": values}


def _quote(value: Any) -> str:
    text = str(value)
    if text and not re.search(r'[\s"=]', text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class LineFormatter(logging.Formatter):
    """`ts=... level=info logger=tracker.sync msg="..." key=value`, with secrets redacted."""

    def __init__(self, secrets: Redactor | list[str]) -> None:
        super().__init__()
        self.redactor = secrets if isinstance(secrets, Redactor) else Redactor.of(secrets)

    def format(self, record: logging.LogRecord) -> str:
        parts: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info and record.exc_info[1] is not None:
            parts["error"] = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        line = " ".join(f"{key}={_quote(value)}" for key, value in parts.items())
        return self.redactor.text(line)


def referenced_secrets(cfg: Config, env: dict[str, str] | None = None) -> Redactor:
    """Values of the config's ${ENV_VAR}s, credentials in its URLs, the webhook: what a log must never show."""
    return Redactor.for_config(cfg, env)


@contextmanager
def logging_to(
    secrets: Redactor | list[str], *, verbose: bool = False, directory: Path | None = None
) -> Iterator[Path]:
    """Send tracker's (and APScheduler's) log lines to stderr and a rotating file while the block runs."""
    folder = directory or log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_FILE
    formatter = LineFormatter(secrets)
    screen = logging.StreamHandler(sys.stderr)
    screen.setLevel(logging.DEBUG if verbose else logging.INFO)
    file = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    file.setLevel(logging.DEBUG if verbose else logging.INFO)
    handlers: list[logging.Handler] = [screen, file]
    for handler in handlers:
        handler.setFormatter(formatter)
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.setLevel(logging.DEBUG if verbose else (logging.INFO if name == "tracker" else logging.WARNING))
        logger.propagate = False
        for handler in handlers:
            logger.addHandler(handler)
    try:
        yield path
    finally:
        for logger, level, propagate in saved:
            for handler in handlers:
                logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate
        for handler in handlers:
            handler.close()
