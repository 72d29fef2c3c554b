"""The rules that keep the code easy to change, checked on the source itself.

- The core never imports a concrete plugin; built-in plugins import only the
  public plugin API (tracker.plugin, tracker.testing), never requests.
- No module imports one that imports it back (type-only imports aside).
- `tracker --help` stays fast: neither it, importing the CLI nor loading the
  config loads a database, HTTP or scheduler library or a plugin.
- The report of a database that holds nothing loads only what prints it: no
  rate limiter, logging, schedules, metric catalogue, verdicts or JSON writer.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_PLUGIN_API = {"tracker.plugin", "tracker.testing"}
HEAVY = ("sqlalchemy", "sqlmodel", "requests", "apscheduler", "tracker_plugins")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[tuple[str, bool]]:
    """(imported module, type-only) for every import in a file, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {
        id(n) for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, id(node) in type_only) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            yield base, id(node) in type_only
            yield from ((f"{base}.{alias.name}", id(node) in type_only) for alias in node.names)


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", python_files("tracker"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_core_never_imports_a_plugin(path: Path) -> None:
    bad = [name for name, _ in imports(path) if name.split(".")[0] in ("tracker_plugins", "plugins")]
    assert not bad, f"{path.name} imports {bad[0]}"


@pytest.mark.parametrize("path", python_files("plugins"), ids=lambda p: p.name)
def test_built_in_plugins_use_only_the_public_plugin_api(path: Path) -> None:
    for name, _ in imports(path):
        top = name.split(".")[0]
        assert top != "requests", f"{path.name} imports requests: use tracker.plugin.HttpSession"
        if top == "tracker":
            assert any(name == api or name.startswith(api + ".") for api in PUBLIC_PLUGIN_API), (
                f"{path.name} imports {name}; plugins may import only {sorted(PUBLIC_PLUGIN_API)}"
            )


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in python_files("tracker")}
    return {
        name: {dep for dep, type_only in imports(path) if not type_only and dep in files and dep != name}
        for name, path in files.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                found.append(sorted([v, *component]))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_one_that_imports_it_back() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def heavy_modules_after(code: str) -> list[str]:
    """The heavy libraries (HEAVY) that a fresh interpreter holds after running `code`."""
    probe = f"import sys\n{code}\nprint(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env={"COLUMNS": "80", "PATH": ""}
    )
    return ast.literal_eval(result.stdout.strip().splitlines()[-1])


def modules_after(code: str, names: tuple[str, ...]) -> list[str]:
    """Which of the modules `names` a fresh interpreter holds after running `code`."""
    probe = f"import sys\n{code}\nprint(sorted(set(sys.modules) & set({names!r})))\n"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env={"COLUMNS": "80", "PATH": ""}
    )
    return ast.literal_eval(result.stdout.strip().splitlines()[-1])


@pytest.mark.subprocess
def test_help_loads_no_database_http_scheduler_or_plugin() -> None:
    code = (
        "from tracker.cli.main import app\ntry:\n    app(['--help'], prog_name='tracker')\nexcept SystemExit:\n    pass"
    )
    assert heavy_modules_after(code) == []


@pytest.mark.subprocess
def test_importing_the_cli_loads_no_database_http_scheduler_or_plugin() -> None:
    assert heavy_modules_after("import tracker.cli.main") == []


@pytest.mark.subprocess
def test_loading_the_config_loads_no_database_http_scheduler_or_plugin(tmp_path: Path) -> None:
    """Every command loads the config first: what it imports, every command pays for."""
    config = tmp_path / "config.toml"
    config.write_text(
        'database = "sqlite:///tracker.db"\ntimezone = "Europe/Berlin"\n\n'
        '[accounts.shop]\nplugin = "csv"\npath = "orders.csv"\n',
        encoding="utf-8",
    )
    code = f"from pathlib import Path\nfrom tracker import config\nassert config.load(Path({str(config)!r})).accounts"
    assert heavy_modules_after(code) == []


def _empty_report_code(tmp_path: Path) -> str:
    """Python that runs `tracker report` on a config whose database does not exist yet."""
    config = tmp_path / "config.toml"
    config.write_text(f'database = "sqlite:///{tmp_path / "t.db"}"\ntimezone = "UTC"\n', encoding="utf-8")
    return (
        "from tracker.cli.main import app\n"
        f"try:\n    app(['report', '--config', {str(config)!r}], prog_name='tracker')\nexcept SystemExit:\n    pass"
    )


@pytest.mark.subprocess
def test_the_report_of_a_database_that_holds_nothing_loads_no_database_or_http_library(tmp_path: Path) -> None:
    """The first thing a new user runs, and what a cron job runs before the first sync: start-up only."""
    code = _empty_report_code(tmp_path)
    assert heavy_modules_after(code) == []


@pytest.mark.parametrize("path", python_files("tracker"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_report_is_built_by_the_core_and_no_module_takes_it_from_the_command_line(path: Path) -> None:
    """`tracker.report.build` builds the report for every command and the alerts; tracker/cli/ only calls it."""
    taken = [name for name, _ in imports(path) if name.startswith("tracker.cli.") and name.endswith(".build_report")]
    assert not taken, f"{path.name} imports {taken[0]}: use tracker.report.build"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "build_report" not in defined or module_name(path) == "tracker.report.build"


# What only a sync, a schedule, a report with rows or a config without a database needs; see the test below.
NOT_FOR_AN_EMPTY_REPORT = (
    "logging",
    "platformdirs",
    "json",
    "tracker.ratelimit",
    "tracker.schedules",
    "tracker.metrics",
    "tracker.report.verdict",
    "tracker.output",
)


@pytest.mark.subprocess
def test_the_report_of_a_database_that_holds_nothing_loads_only_what_prints_it(tmp_path: Path) -> None:
    """The rate limiter (logging, locks), schedules, the metric catalogue, the verdicts and the JSON and CSV writers
    serve other commands or rows that an empty store does not have; a config that names its database needs no
    user data dir. The report of an empty store is a start-up figure (bench/startup.py), so each of them counts."""
    code = _empty_report_code(tmp_path)
    assert modules_after(code, NOT_FOR_AN_EMPTY_REPORT) == []


# The command modules a report needs: the app, its lazy group, the shared options and the report's own.
THE_REPORTS_COMMAND_MODULES = ["tracker.cli", "tracker.cli.common", "tracker.cli.lazy", "tracker.cli.main",
                               "tracker.cli.report"]


@pytest.mark.subprocess
def test_a_command_loads_its_own_command_module_and_no_other(tmp_path: Path) -> None:
    """Typer turns every loaded command's signature into options: `tracker report` pays for none but its own."""
    code = _empty_report_code(tmp_path)
    every = tuple(module_name(path) for path in python_files("tracker/cli"))
    assert modules_after(code, every) == THE_REPORTS_COMMAND_MODULES


@pytest.mark.subprocess
def test_importing_the_cli_loads_no_command_module() -> None:
    every = tuple(module_name(path) for path in python_files("tracker/cli"))
    assert modules_after("import tracker.cli.main", every) == ["tracker.cli", "tracker.cli.lazy", "tracker.cli.main"]


def test_the_app_keeps_typers_defaults_for_what_shapes_a_command() -> None:
    """tracker.cli.lazy builds each command in a default Typer app; the root app must agree with it."""
    import typer

    from tracker.cli.main import app

    default = typer.Typer()
    for setting in ("rich_markup_mode", "pretty_exceptions_short", "suggest_commands"):
        assert getattr(app, setting, None) == getattr(default, setting, None), setting


# What builds and draws a report: the table of a store that holds nothing is one sentence (tracker.report.empty).
NOT_FOR_THE_EMPTY_TABLE = ("tracker.report.build", "tracker.report.figures", "tracker.report.rows",
                           "tracker.report.render")


@pytest.mark.subprocess
def test_the_table_of_a_store_that_holds_nothing_is_printed_without_building_a_report(tmp_path: Path) -> None:
    """Their data classes are most of what the report's start-up loads; an empty store's table needs none."""
    code = _empty_report_code(tmp_path)
    assert modules_after(code, NOT_FOR_THE_EMPTY_TABLE) == []


# What only PostgreSQL or a sync needs: a SQLite report over stored data must not load them.
NOT_FOR_A_SQLITE_REPORT = ("sqlalchemy.dialects.postgresql", "tracker.locks")


@pytest.mark.subprocess
def test_the_report_of_a_sqlite_store_that_holds_data_loads_no_postgresql_dialect_or_lock(tmp_path: Path) -> None:
    """The dialect alone is about 25 ms of start-up; the report reads, so it takes no lease and needs no lock."""
    from datetime import date

    from tracker.plugin import Sample
    from tracker.store import writes
    from tracker.store.db import open_engine

    url = f"sqlite:///{tmp_path / 't.db'}"
    engine = open_engine(url)
    run_id = writes.start_run(engine, "test")
    account_run = writes.start_account_run(engine, run_id, "page", date(2026, 1, 1), date(2026, 1, 31))
    samples = [Sample("facebook", "likes", date(2026, 1, 5), 3)]
    writes.commit_account(engine, run_id, account_run, writes.AccountResult("page", "csv", "{}", "none", False, 0,
                                                                            samples=samples))
    engine.dispose()
    config = tmp_path / "config.toml"
    config.write_text(
        f'database = "{url}"\ntimezone = "UTC"\n\n[accounts.page]\nplugin = "csv"\npath = "orders.csv"\n',
        encoding="utf-8",
    )
    code = (
        "from tracker.cli.main import app\n"
        f"try:\n    app(['report', '--until', '2026-01-10', '--format', 'json', '--config', {str(config)!r}],"
        " prog_name='tracker')\nexcept SystemExit:\n    pass\n"
        "assert 'tracker.report.compute' in sys.modules"
    )
    assert modules_after(code, NOT_FOR_A_SQLITE_REPORT) == []
