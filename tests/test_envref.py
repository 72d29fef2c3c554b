"""`${ENV_VAR}` references: the one rule options, the alerts webhook and the redactor share."""

from pathlib import Path

import pytest

from tracker.envref import env_name, is_env_ref, resolve_env


@pytest.mark.parametrize("value", ["${TOKEN}", "${_T0}", "${my_token}"])
def test_a_whole_value_reference_names_its_variable(value):
    assert env_name(value) == value[2:-1]


@pytest.mark.parametrize(
    "value", ["TOKEN", "$TOKEN", "${TOKEN}x", "x${TOKEN}", "${TOKEN}\n", "${1TOKEN}", "${}", 7, None]
)
def test_anything_but_a_whole_value_reference_is_not_one(value):
    assert not is_env_ref(value)


def test_a_reference_resolves_to_its_variable_and_other_text_stays_as_it_is():
    env = {"TOKEN": "s3cr3t"}
    assert (resolve_env("${TOKEN}", env), resolve_env("plain", env)) == ("s3cr3t", "plain")


def test_an_unset_variable_resolves_to_the_callers_fallback():
    assert (resolve_env("${MISSING}", {}), resolve_env("${MISSING}", {}, unset="${MISSING}")) == ("", "${MISSING}")


def test_no_other_module_spells_the_reference_pattern():
    root = Path(__file__).resolve().parent.parent
    spelled = [
        str(path.relative_to(root))
        for folder in ("tracker", "plugins")
        for path in sorted((root / folder).rglob("*.py"))
        if path.name != "envref.py" and r"\$\{" in path.read_text(encoding="utf-8")
    ]
    assert spelled == []
