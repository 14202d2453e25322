"""Commit messages of automation runs: subject, body, template, and trailers that read back."""

import pytest

from conveyor.core.commit_message import (
    CommitTemplateError,
    ReleasedChange,
    check_template,
    commit_subject,
    parse_change_trailers,
    render_commit_message,
)


def container_change(workload: str, old: str, new: str, container: str = "app") -> ReleasedChange:
    return ReleasedChange(
        workload_id=workload,
        container=container,
        setter_policy=None,
        path=None,
        old_image=old,
        new_image=new,
    )


WEB = container_change("shop:deployment/web", "app:1.2.3", "app:1.2.4")
API = container_change(
    "shop:deployment/api", "docker.io/library/app:1.2.3", "docker.io/library/app:1.2.4"
)
VALUES = ReleasedChange(
    workload_id=None,
    container=None,
    setter_policy="flux-system:podinfo",
    path="charts/my app/values.yaml",
    old_image="ghcr.io/stefanprodan/podinfo:6.5.0",
    new_image="ghcr.io/stefanprodan/podinfo:6.6.0",
)


def test_the_default_message_has_a_subject_a_summary_and_trailers():
    assert render_commit_message([WEB, API]) == (
        "Release app:1.2.4 to 2 workloads\n"
        "\n"
        "- shop:deployment/web container app: app:1.2.3 -> app:1.2.4\n"
        "- shop:deployment/api container app: docker.io/library/app:1.2.3 -> "
        "docker.io/library/app:1.2.4\n"
        "\n"
        "Conveyor-Change: shop:deployment/web app app:1.2.3 -> app:1.2.4\n"
        "Conveyor-Change: shop:deployment/api app docker.io/library/app:1.2.3 -> "
        "docker.io/library/app:1.2.4\n"
    )


@pytest.mark.parametrize(
    ("changes", "subject"),
    [
        ([WEB], "Release app:1.2.4 to 1 workload"),
        (
            [WEB, container_change("shop:deployment/web", "app:1.2.3", "app:1.2.4", "init")],
            "Release app:1.2.4 to 1 workload",
        ),
        ([WEB, VALUES], "Update images of 1 workload and 1 file"),
        (
            [WEB, API, container_change("ops:cronjob/backup", "tool:1", "tool:2")],
            "Update images of 3 workloads",
        ),
        ([], "No image changes"),
    ],
)
def test_subjects(changes, subject):
    assert commit_subject(changes) == subject


def test_trailers_read_back_whatever_the_template_puts_around_them():
    changes = [WEB, API, VALUES]
    message = render_commit_message(
        changes, template="chore(images): $subject [$count changes: $images]\n\n$$HOME\n\n$trailers"
    )
    assert message.splitlines()[0] == (
        "chore(images): Update images of 2 workloads and 1 file [3 changes: app:1.2.4, "
        "docker.io/library/app:1.2.4, ghcr.io/stefanprodan/podinfo:6.6.0]"
    )
    assert "$HOME" in message
    assert parse_change_trailers(message) == tuple(changes)


def test_a_setter_change_outside_workloads_is_named_by_its_file():
    assert VALUES.trailer() == (
        "Conveyor-Change: path=charts/my app/values.yaml setter=flux-system:podinfo "
        "ghcr.io/stefanprodan/podinfo:6.5.0 -> ghcr.io/stefanprodan/podinfo:6.6.0"
    )
    assert "- charts/my app/values.yaml $imagepolicy flux-system:podinfo:" in VALUES.summary_line()


def test_lines_that_are_not_change_trailers_are_ignored():
    message = (
        "Release app:2\n\nConveyor-Change: malformed\nSigned-off-by: a <a@b>\n"
        "Conveyor-Change: ns:deployment/x app app:1 -> app:2\n"
    )
    assert parse_change_trailers(message) == (
        container_change("ns:deployment/x", "app:1", "app:2"),
    )


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("$subject $author", r"unknown field\(s\) author; the fields are count, images, "),
        ("cost: $5", "starts no field"),
    ],
)
def test_bad_templates_are_refused_with_the_reason(template, problem):
    with pytest.raises(CommitTemplateError, match=problem):
        check_template(template)
    with pytest.raises(CommitTemplateError):
        render_commit_message([WEB], template=template)
