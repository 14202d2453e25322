import json
import logging

import pytest

from conveyor.adapters.notify import (
    AppriseTarget,
    JsonWebhookTarget,
    Notification,
    NotificationEvent,
    Notifier,
    SlackTarget,
    TargetConfigError,
)

TOKEN = "PathT0kenSecret"


def notification(event_type: NotificationEvent) -> Notification:
    return Notification(
        event_type=event_type,
        title=f"{event_type.value} in production",
        body="details",
        fields={"workload": "production:deployment/app"},
    )


@pytest.mark.anyio
async def test_each_target_gets_only_the_event_types_it_wants(receiver):
    targets = [
        JsonWebhookTarget(name="everything", url=receiver.url("/all")),
        JsonWebhookTarget(
            name="rollbacks",
            url=receiver.url("/rollbacks"),
            events=frozenset({NotificationEvent.ROLLBACK, NotificationEvent.AUTO_ROLLBACK}),
        ),
        AppriseTarget(
            name="drift-chat",
            url=receiver.url("/drift", scheme="json"),
            events=frozenset({NotificationEvent.DRIFT}),
        ),
    ]
    async with Notifier(targets, timeout=5) as notifier:
        release = await notifier.send(notification(NotificationEvent.RELEASE))
        drift = await notifier.send(notification(NotificationEvent.DRIFT))
        auto = await notifier.send(notification(NotificationEvent.AUTO_ROLLBACK))

    assert [r.target for r in release.results] == ["everything"]
    assert release.skipped == ("rollbacks", "drift-chat")
    assert sorted(r.target for r in drift.results) == ["drift-chat", "everything"]
    assert sorted(r.target for r in auto.results) == ["everything", "rollbacks"]
    assert all(report.all_delivered for report in (release, drift, auto))
    received = sorted(
        (request.path, json.loads(request.body)["title"]) for request in receiver.requests
    )
    assert received == sorted(
        [
            ("/all", "release in production"),
            ("/all", "drift in production"),
            ("/all", "auto_rollback in production"),
            ("/drift", "drift in production"),
            ("/rollbacks", "auto_rollback in production"),
        ]
    )


@pytest.mark.anyio
async def test_failing_targets_do_not_stop_the_others(receiver, closed_port, caplog):
    targets = [
        JsonWebhookTarget(name="refuses", url=receiver.url(f"/fail/{TOKEN}")),
        JsonWebhookTarget(name="down", url=f"http://127.0.0.1:{closed_port}/{TOKEN}"),
        AppriseTarget(name="apprise-refuses", url=receiver.url(f"/fail/{TOKEN}", scheme="json")),
        JsonWebhookTarget(name="works", url=receiver.url("/ok")),
        AppriseTarget(name="apprise-works", url=receiver.url("/ok-apprise", scheme="json")),
    ]
    caplog.set_level(logging.INFO, logger="conveyor.adapters.notify")
    async with Notifier(targets, timeout=5) as notifier:
        report = await notifier.send(notification(NotificationEvent.SYNC_FAILED))

    outcome = {result.target: result.delivered for result in report.results}
    assert outcome == {
        "refuses": False,
        "down": False,
        "apprise-refuses": False,
        "works": True,
        "apprise-works": True,
    }
    assert not report.all_delivered
    assert {failure.target for failure in report.failures} == {
        "refuses",
        "down",
        "apprise-refuses",
    }
    for failure in report.failures:
        assert failure.error is not None
        assert failure.target in failure.error
        assert TOKEN not in failure.error
    assert "/ok" in receiver.paths()
    assert "/ok-apprise" in receiver.paths()
    assert TOKEN not in caplog.text
    assert "to refuses failed" in caplog.text


def test_target_names_must_be_unique():
    targets = [
        JsonWebhookTarget(name="ops", url="https://a.example.com/x"),
        JsonWebhookTarget(name="ops", url="https://b.example.com/y"),
    ]
    with pytest.raises(TargetConfigError, match="'ops'"):
        Notifier(targets)


def test_a_bad_target_fails_at_construction_without_its_token():
    with pytest.raises(TargetConfigError, match="chat") as raised:
        Notifier([SlackTarget(name="chat", webhook_url=f"https://example.com/{TOKEN}")])
    assert TOKEN not in str(raised.value)


@pytest.mark.anyio
async def test_notifier_with_no_targets_reports_nothing():
    async with Notifier([]) as notifier:
        report = await notifier.send(notification(NotificationEvent.RELEASE))
    assert report.results == ()
    assert report.all_delivered
