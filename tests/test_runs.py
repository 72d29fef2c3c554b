"""Run statuses: one enum whose members are the words the database has always stored."""

from tracker.runs import RunStatus


def test_stored_statuses_are_the_words_older_databases_hold():
    stored = {RunStatus.RUNNING, RunStatus.OK, RunStatus.FAILED, RunStatus.INTERRUPTED}
    assert sorted(stored) == ["failed", "interrupted", "ok", "running"]


def test_a_status_prints_and_compares_as_its_word():
    assert (f"{RunStatus.OK}", str(RunStatus.FAILED), RunStatus.INTERRUPTED == "interrupted") == ("ok", "failed", True)
