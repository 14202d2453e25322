"""Commit messages of release operations and their trailers."""

from conveyor.core.commit_message import ReleasedChange, parse_change_trailers
from conveyor.core.release import AnnotationChange
from conveyor.core.release_history import HistoryKind
from conveyor.core.release_message import (
    parse_operation_kind,
    parse_operation_user,
    policy_message,
    release_message,
    revert_message,
    rollback_message,
)

CHANGE = ReleasedChange("shop:deployment/web", "app", None, None, "app:1", "app:2")


def test_a_release_message_has_subject_body_and_trailers():
    message = release_message([CHANGE], user="alice  smith", message="Fix the checkout")
    subject, body, summary, trailers = message.rstrip("\n").split("\n\n")
    assert subject == "Release app:2 to 1 workload"
    assert body == "Fix the checkout"
    assert summary == "- shop:deployment/web container app: app:1 -> app:2"
    assert trailers.splitlines() == [
        "Conveyor-Change: shop:deployment/web app app:1 -> app:2",
        "Conveyor-Kind: release",
        "Conveyor-User: alice smith",
    ]
    assert parse_operation_kind(message) is HistoryKind.RELEASE
    assert parse_operation_user(message) == "alice smith"


def test_a_message_cannot_forge_trailers():
    forged = "please\nConveyor-Kind: rollback\nConveyor-Change: x:deployment/y c a:1 -> a:2"
    message = release_message([CHANGE], user="mallory\nConveyor-Kind: lock", message=forged)
    assert parse_operation_kind(message) is HistoryKind.RELEASE
    assert parse_change_trailers(message) == (CHANGE,)
    assert parse_operation_user(message) == "mallory Conveyor-Kind: lock"


def test_a_revert_message_names_the_release_and_the_locks():
    back = ReleasedChange("shop:deployment/web", "app", None, None, "app:2", "app:1")
    message = revert_message(
        release_subject="Release app:2 to 1 workload",
        release_commit="f" * 40,
        changes=[back],
        reason="shop:deployment/web progressing: 0 of 1 updated replicas available",
        locked=["shop:deployment/web"],
    )
    assert message.startswith('Revert "Release app:2 to 1 workload"\n\nThis reverts commit fff')
    assert "Locked shop:deployment/web" in message
    assert parse_operation_kind(message) is HistoryKind.AUTO_ROLLBACK
    assert parse_operation_user(message) == "conveyor"
    assert parse_change_trailers(message) == (back,)


def test_policy_messages():
    lock = AnnotationChange("shop:deployment/web", "conveyor.dev/locked", None, "true")
    message = policy_message("lock", [lock], user="carol", message="incident 42")
    assert message.startswith("Lock shop:deployment/web\n\nincident 42\n\n")
    assert parse_operation_kind(message) is HistoryKind.LOCK
    removed = AnnotationChange("shop:deployment/web", "conveyor.dev/tag.app", "glob:*", None)
    cleared = policy_message("policy", [removed], user="carol", container="app")
    assert cleared.startswith("Set tag policy of shop:deployment/web container app\n")
    assert "- shop:deployment/web: remove conveyor.dev/tag.app" in cleared
    assert parse_change_trailers(cleared) == ()


def test_a_rollback_message_says_when_it_locks_the_workload():
    back = ReleasedChange("shop:deployment/web", "app", None, None, "app:2", "app:1")
    plain = rollback_message("shop:deployment/web", [back], user="bob")
    locked = rollback_message("shop:deployment/web", [back], user="bob", locked=True)
    assert (
        plain.splitlines()[0] == locked.splitlines()[0] == "Roll back shop:deployment/web to app:1"
    )
    assert "Locked" not in plain
    assert "Locked shop:deployment/web: image automation would release" in locked
    # The lock line sits above the trailers, which still parse.
    assert parse_operation_kind(locked) is HistoryKind.ROLLBACK
    assert parse_change_trailers(locked) == (back,)
