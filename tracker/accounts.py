"""Checking an account: one cheap authenticated call through its plugin, without syncing.

Used by `tracker accounts check`; kept out of the CLI so other front ends (the
daemon, a future web page) can ask the same question.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracker.config import AccountConfig, Config
    from tracker.registry import Registry


@dataclass
class CheckResult:
    account: str
    plugin: str
    status: str  # ok | failed | unchecked
    message: str


def check_account(cfg: Config, registry: Registry, account: AccountConfig) -> CheckResult:
    """One cheap call through the plugin's own check; every message is one line, scrubbed of secrets.

    The check does not go through `collect`, so its answer is redacted here, with the options' secrets
    and every credential the HTTP session sent (a token obtained during the check included).
    """
    from tracker import options
    from tracker.collect import describe_error
    from tracker.http import HttpSession
    from tracker.redact import Redactor

    redactor = Redactor.of()
    http = HttpSession(retries=1)
    try:
        plugin = registry.get(account.plugin)
        where = f"{cfg.path or '<config>'}: accounts.{account.name}"
        opts, problems = options.build(plugin, account.options, where=where, attribution=cfg.attribution)
        if problems:
            return CheckResult(account.name, account.plugin, "failed", "; ".join(problems))
        redactor = Redactor.for_options(opts)
        if plugin.check is None:
            return CheckResult(
                account.name, account.plugin, "unchecked", "this plugin has no check; try `tracker sync --account`"
            )
        answer = plugin.check(opts, http)
        return CheckResult(account.name, account.plugin, "ok", redactor.adding(http.sent_secrets).line(answer))
    except Exception as exc:  # a check must never crash the listing, whatever the plugin raises
        return CheckResult(
            account.name, account.plugin, "failed", describe_error(exc, redactor.adding(http.sent_secrets))
        )
    finally:
        http.close()
