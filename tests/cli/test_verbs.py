"""The API verbs' usage errors, found before any request is made (exit code 2), the one
`automate` command that keeps its local --repo run, and how an operation's answer is printed.
The verbs against a served API are tested in tests/api/test_releases*.py."""

import pytest
from typer.testing import CliRunner

from conveyor.cli.main import app
from conveyor.cli.verbs_output import print_operation, print_workloads

# Nothing listens here; a verb that got as far as a request would say "cannot reach".
NOWHERE = ["--url", "http://127.0.0.1:9", "--token", "t"]
WEB = "shop:deployment/web"


def conveyor(*args):
    return CliRunner().invoke(app, [*args, *NOWHERE])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["release", "-w", WEB], "exactly one"),
        (["release", "-w", WEB, "-i", "app:1", "--update-all-images"], "exactly one"),
        (["release", "-i", "app:1"], "--workload, or use --all"),
        (["release", "-w", WEB, "--all", "-i", "app:1"], "not both"),
        (["release", "-w", WEB, "--exclude", WEB, "-i", "app:1"], "only narrows --all"),
        (["rollback", "web"], "namespace:kind/name"),
        (["history", "shop:web"], "namespace:kind/name"),
        (["policy", "-w", WEB, "--tag", "semver:~1.2"], "CONTAINER=PATTERN"),
        (["lock"], "--workload, or use --all"),
        (["automate", "-w", WEB, "--repo", "/tmp/repo"], "use one"),
        (["automate", "-w", WEB, "--dry-run"], "goes with --repo"),
    ],
)
def test_usage_errors_exit_2_before_any_request(args, expected):
    result = conveyor(*args)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "cannot reach" not in result.output


def test_one_automate_command_has_both_the_daemon_and_the_local_options():
    names = [c.name for c in app.registered_commands]
    assert names.count("automate") == 1
    help_text = CliRunner().invoke(app, ["automate", "--help"], env={"COLUMNS": "200"}).output
    assert "--workload" in help_text and "--repo" in help_text and "--config" in help_text


def test_a_verb_without_a_daemon_exits_2_naming_the_url():
    result = conveyor("history")
    assert result.exit_code == 2
    assert "--url" in result.stderr and "http://127.0.0.1:9" in result.stderr


def operation(**fields):
    """An operation answer as the API sends it (a release that was committed and synced)."""
    return {
        "kind": "release",
        "dryRun": False,
        "commit": "c0ffee" * 6 + "abcd",
        "message": "Release app:1.1",
        "changes": [],
        "annotationChanges": [],
        "diff": [],
        "skipped": [],
        "sync": {"revision": "c0ffee" * 6 + "abcd", "outcome": "refused"},
        "health": None,
        "rolledBack": False,
        "revertCommit": None,
        "notApplied": None,
        "problems": [],
        **fields,
    }


def test_an_operation_not_applied_gets_a_line_saying_so_and_why(capsys):
    print_operation(operation(notApplied="the sync refused commit c0ffeec0ffee"), output="table")
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == (
        "NOT APPLIED: the commit is in the repo but the cluster does not run it:"
        " the sync refused commit c0ffeec0ffee"
    )


@pytest.mark.parametrize(
    "answer", [operation(), {k: v for k, v in operation().items() if k != "notApplied"}]
)
def test_an_applied_operation_or_an_older_daemons_answer_has_no_such_line(capsys, answer):
    print_operation(answer, output="table")
    out = capsys.readouterr().out
    assert "committed" in out and "NOT APPLIED" not in out


def test_list_workloads_shows_the_policy_exclude_and_min_age_of_a_container(capsys):
    container = {
        "name": "app",
        "image": "registry.invalid/web:1.0.0",
        "liveImage": None,
        "init": False,
        "policy": "semver:~1",
        "exclude": "*-rc*",
        "minAge": "1h",
    }
    workload = {
        "id": "shop:deployment/web",
        "path": "web.yaml",
        "containers": [{"name": "sidecar", "image": "proxy:1", "liveImage": None}, container],
        "automated": True,
        "locked": False,
        "lockReason": None,
        "lockedBy": None,
        "inCluster": False,
    }
    print_workloads([workload], output="table")
    out = " ".join(capsys.readouterr().out.split())
    assert "policy semver:~1, exclude *-rc*, min-age 1h" in out
