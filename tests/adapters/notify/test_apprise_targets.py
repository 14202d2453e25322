"""apprise-backed targets.

Slack, Teams, Discord and email are checked through apprise's own URL parsing only: sending to
those services needs their network and real accounts. The json:// and form:// services are sent
for real, to our own loopback receiver, which exercises apprise's whole send path.
"""

import json
from urllib.parse import parse_qs

import pytest

from conveyor.adapters.notify import (
    AppriseTarget,
    DeliveryError,
    DiscordTarget,
    EmailTarget,
    Notification,
    NotificationEvent,
    SlackTarget,
    TargetConfigError,
    TeamsTarget,
    email_apprise_url,
)
from conveyor.adapters.notify.apprise_targets import (
    AppriseSender,
    load_apprise_service,
    service_schemas,
)

SLACK_TOKENS = ("T0ABCDEF12", "B0ABCDEF34", "q1w2e3r4t5y6u7i8o9p0a1s2")
SLACK_URL = "https://hooks.slack.com/services/" + "/".join(SLACK_TOKENS)
DISCORD_ID, DISCORD_TOKEN = "112233445566778899", "Zx9-Yw8_Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0"
DISCORD_URL = f"https://discord.com/api/webhooks/{DISCORD_ID}/{DISCORD_TOKEN}"
TEAMS_WORKFLOW, TEAMS_SIG = (
    "8f1e2d3c4b5a69788f1e2d3c4b5a6978",
    "aBcDeF0123456789_-GhIjKlMnOpQrStUvWxYz",
)
TEAMS_URL = (
    f"https://prod-42.westeurope.logic.azure.com:443/workflows/{TEAMS_WORKFLOW}/triggers/manual/"
    f"paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={TEAMS_SIG}"
)
ROLLBACK = Notification(
    event_type=NotificationEvent.AUTO_ROLLBACK,
    title="Rolled back app in production",
    body="v1.4.2 never became ready",
    fields={"workload": "production:deployment/app", "commit": "9f2c1e0"},
)


def test_slack_webhook_url_becomes_apprise_slack_service():
    sender = AppriseSender(SlackTarget(name="chat", webhook_url=SLACK_URL))
    assert "slack" in service_schemas(sender.service)
    assert sender.service.url().startswith("slack://" + "/".join(SLACK_TOKENS))
    assert not any(token in sender.display for token in SLACK_TOKENS)
    assert not any(token in sender.service.url(privacy=True) for token in SLACK_TOKENS)


def test_discord_webhook_url_becomes_apprise_discord_service():
    sender = AppriseSender(DiscordTarget(name="discord", webhook_url=DISCORD_URL))
    assert "discord" in service_schemas(sender.service)
    assert sender.service.url().startswith(f"discord://{DISCORD_ID}/{DISCORD_TOKEN}")
    assert DISCORD_TOKEN not in sender.display


def test_teams_workflow_url_becomes_apprise_workflows_service():
    sender = AppriseSender(TeamsTarget(name="teams", workflow_url=TEAMS_URL))
    assert service_schemas(sender.service) & {"workflow", "workflows"}
    rebuilt = sender.service.url()
    assert TEAMS_WORKFLOW in rebuilt
    assert TEAMS_SIG in rebuilt
    assert TEAMS_SIG not in sender.display


@pytest.mark.parametrize(
    ("target", "leaked"),
    [
        (SlackTarget(name="wrong", webhook_url=DISCORD_URL), DISCORD_TOKEN),
        (DiscordTarget(name="wrong", webhook_url=SLACK_URL), SLACK_TOKENS[2]),
        (TeamsTarget(name="wrong", workflow_url=SLACK_URL), SLACK_TOKENS[2]),
        (
            SlackTarget(
                name="typo", webhook_url=f"https://hooks.slack.com/services/{DISCORD_TOKEN}"
            ),
            DISCORD_TOKEN,
        ),
        (
            AppriseTarget(name="nonsense", url=f"nosuchservice://{DISCORD_TOKEN}@host/"),
            DISCORD_TOKEN,
        ),
    ],
)
def test_urls_for_another_service_are_config_errors_without_tokens(target, leaked):
    with pytest.raises(TargetConfigError, match=target.name) as raised:
        AppriseSender(target)
    assert leaked not in str(raised.value)


@pytest.mark.parametrize(
    ("security", "schema", "mode", "port"),
    [
        ("starttls", "mailtos", "starttls", 587),
        ("ssl", "mailtos", "ssl", 465),
        ("none", "mailto", "insecure", 25),
    ],
)
def test_email_url_round_trips_through_apprise(security, schema, mode, port):
    password = "p@ss:w/rd&more?"
    target = EmailTarget(
        name="oncall",
        smtp_host="smtp.example.com",
        smtp_port=port,
        sender="conveyor@example.com",
        recipients=("ops@example.com", "dev+alerts@example.com"),
        security=security,
        username="conveyor@example.com",
        password=password,
    )
    url = email_apprise_url(target)
    assert url.startswith(f"{schema}://")
    service = load_apprise_service(url)
    assert service is not None
    assert (service.secure_mode, service.host, service.port) == (mode, "smtp.example.com", port)
    assert (service.user, service.password) == ("conveyor@example.com", password)
    assert service.from_addr[1] == "conveyor@example.com"
    assert [address for _, address in service.targets] == [
        "ops@example.com",
        "dev+alerts@example.com",
    ]
    sender = AppriseSender(target)
    assert password not in sender.display
    assert password not in repr(target)


def test_email_without_recipients_or_with_a_bad_sender_is_a_config_error():
    with pytest.raises(TargetConfigError, match="recipient"):
        AppriseSender(
            EmailTarget(
                name="mail", smtp_host="smtp.example.com", sender="a@example.com", recipients=()
            )
        )
    with pytest.raises(TargetConfigError, match="not an email address"):
        AppriseSender(
            EmailTarget(
                name="mail",
                smtp_host="smtp.example.com",
                sender="conveyor",
                recipients=("a@example.com",),
            )
        )


def test_target_reprs_hide_webhook_urls():
    for target in (
        SlackTarget(name="s", webhook_url=SLACK_URL),
        DiscordTarget(name="d", webhook_url=DISCORD_URL),
        TeamsTarget(name="t", workflow_url=TEAMS_URL),
    ):
        assert "hooks" not in repr(target).replace("name=", "")
        assert DISCORD_TOKEN not in repr(target)
        assert TEAMS_SIG not in repr(target)


@pytest.mark.anyio
async def test_apprise_json_service_delivers_to_a_real_receiver(receiver):
    sender = AppriseSender(
        AppriseTarget(name="json", url=receiver.url("/apprise/json", scheme="json"))
    )
    await sender.send(ROLLBACK, timeout=5)
    [request] = receiver.requests
    assert request.path == "/apprise/json"
    document = json.loads(request.body)
    assert document["title"] == ROLLBACK.title
    assert (
        document["message"]
        == "v1.4.2 never became ready\nworkload: production:deployment/app\ncommit: 9f2c1e0"
    )
    assert document["type"] == "failure"


@pytest.mark.anyio
async def test_apprise_form_service_delivers_to_a_real_receiver(receiver):
    sender = AppriseSender(
        AppriseTarget(name="form", url=receiver.url("/apprise/form", scheme="form"))
    )
    await sender.send(ROLLBACK, timeout=5)
    [request] = receiver.requests
    form = parse_qs(request.body.decode())
    assert form["title"] == [ROLLBACK.title]
    assert form["message"][0].startswith("v1.4.2 never became ready\n")
    assert form["type"] == ["failure"]


@pytest.mark.anyio
async def test_apprise_refusal_is_a_delivery_error_without_credentials(receiver):
    url = f"json://robot:Pa55w0rdXYZ@127.0.0.1:{receiver.port}/fail/SeCrEtPaTh"
    sender = AppriseSender(AppriseTarget(name="json", url=url))
    with pytest.raises(DeliveryError, match="did not accept") as raised:
        await sender.send(ROLLBACK, timeout=5)
    message = str(raised.value)
    assert "500" in message
    assert "Pa55w0rdXYZ" not in message
    assert "SeCrEtPaTh" not in message
    assert receiver.paths() == ["/fail/SeCrEtPaTh"]
