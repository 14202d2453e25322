import json
from urllib.parse import urlencode

import pytest

from conveyor.core.events import (
    GitProvider,
    GitPushEvent,
    Ignored,
    WebhookPayloadError,
    WebhookRequest,
    normalize_git_url,
)
from conveyor.core.webhooks_git import parse_git_push

SHA = "9f2c1e0b7d4a6c8e1f3b5d7a9c0e2f4b6d8a0c1e"
ZERO = "0" * 40

# Sample payloads, trimmed to the fields a real delivery has around the ones we read.


def github_push(*, ref="refs/heads/main", after=SHA, deleted=False):
    return {
        "ref": ref,
        "before": "1" * 40,
        "after": after,
        "created": False,
        "deleted": deleted,
        "forced": False,
        "compare": "https://github.com/acme/deploy-config/compare/111111111111...9f2c1e0b7d4a",
        "repository": {
            "id": 123456789,
            "name": "deploy-config",
            "full_name": "acme/deploy-config",
            "private": True,
            "owner": {"name": "acme", "login": "acme"},
            "html_url": "https://github.com/acme/deploy-config",
            "url": "https://github.com/acme/deploy-config",
            "git_url": "git://github.com/acme/deploy-config.git",
            "ssh_url": "git@github.com:acme/deploy-config.git",
            "clone_url": "https://github.com/acme/deploy-config.git",
            "default_branch": "main",
        },
        "pusher": {"name": "octocat", "email": "octocat@example.com"},
        "head_commit": {"id": after, "message": "Bump app to v1.4.2", "distinct": True},
        "commits": [],
    }


def gitlab_push(*, kind="push", ref="refs/heads/main", after=SHA):
    return {
        "object_kind": kind,
        "event_name": kind,
        "before": "1" * 40,
        "after": after,
        "ref": ref,
        "ref_protected": True,
        "checkout_sha": None if after == ZERO else after,
        "user_username": "jsmith",
        "project_id": 15,
        "project": {
            "id": 15,
            "name": "deploy-config",
            "web_url": "https://gitlab.example.com/platform/deploy-config",
            "git_ssh_url": "git@gitlab.example.com:platform/deploy-config.git",
            "git_http_url": "https://gitlab.example.com/platform/deploy-config.git",
            "path_with_namespace": "platform/deploy-config",
            "default_branch": "main",
        },
        "repository": {
            "name": "deploy-config",
            "url": "git@gitlab.example.com:platform/deploy-config.git",
            "homepage": "https://gitlab.example.com/platform/deploy-config",
            "git_http_url": "https://gitlab.example.com/platform/deploy-config.git",
            "git_ssh_url": "git@gitlab.example.com:platform/deploy-config.git",
        },
        "commits": [],
        "total_commits_count": 1,
    }


def bitbucket_change(*, kind="branch", name="main", new_hash=SHA, deleted=False):
    new = (
        None
        if deleted
        else {"type": kind, "name": name, "target": {"type": "commit", "hash": new_hash}}
    )
    return {
        "new": new,
        "old": {"type": kind, "name": name, "target": {"type": "commit", "hash": "1" * 40}},
        "created": False,
        "closed": deleted,
        "forced": False,
    }


def bitbucket_push(changes):
    return {
        "push": {"changes": changes},
        "actor": {"display_name": "Jane", "type": "user"},
        "repository": {
            "type": "repository",
            "name": "deploy-config",
            "full_name": "acme/deploy-config",
            "is_private": True,
            "links": {"html": {"href": "https://bitbucket.org/acme/deploy-config"}},
        },
    }


def gitea_push(*, ref="refs/heads/main", after=SHA):
    return {
        "ref": ref,
        "before": "1" * 40,
        "after": after,
        "compare_url": "https://gitea.example.com/ops/config/compare/1111111...9f2c1e0",
        "commits": [],
        "repository": {
            "id": 7,
            "name": "config",
            "full_name": "ops/config",
            "html_url": "https://gitea.example.com/ops/config",
            "ssh_url": "ssh://git@gitea.example.com:2222/ops/config.git",
            "clone_url": "https://gitea.example.com/ops/config.git",
            "default_branch": "main",
        },
        "pusher": {"login": "ops-bot"},
    }


def request(payload, **headers):
    return WebhookRequest(
        headers={"Content-Type": "application/json", **headers},
        body=json.dumps(payload).encode(),
    )


def only_event(result) -> GitPushEvent:
    assert isinstance(result, tuple)
    assert len(result) == 1
    return result[0]


def test_github_push_reports_branch_revision_and_every_url():
    event = only_event(
        parse_git_push(GitProvider.GITHUB, request(github_push(), **{"X-GitHub-Event": "push"}))
    )
    assert event.branch == "main"
    assert event.revision == SHA
    assert event.provider is GitProvider.GITHUB
    assert event.repo_urls == (
        "git@github.com:acme/deploy-config.git",
        "https://github.com/acme/deploy-config.git",
        "git://github.com/acme/deploy-config.git",
        "https://github.com/acme/deploy-config",
    )


def test_github_form_encoded_payload_is_the_same_push():
    body = urlencode({"payload": json.dumps(github_push(ref="refs/heads/prod"))}).encode()
    form = WebhookRequest(
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-GitHub-Event": "push"},
        body=body,
    )
    assert only_event(parse_git_push(GitProvider.GITHUB, form)).branch == "prod"


@pytest.mark.parametrize(
    ("payload", "event_kind", "reason"),
    [
        ({"zen": "Keep it logically awesome.", "hook_id": 1}, "ping", "ping"),
        (github_push(after=ZERO, deleted=True), "push", "deleted"),
        (github_push(ref="refs/tags/v1.4.2"), "push", "tag"),
        ({"action": "opened"}, "issues", "not a push"),
    ],
)
def test_github_non_pushes_are_ignored_with_a_reason(payload, event_kind, reason):
    result = parse_git_push(GitProvider.GITHUB, request(payload, **{"X-GitHub-Event": event_kind}))
    assert isinstance(result, Ignored)
    assert reason in result.reason


def test_github_without_event_header_is_a_payload_error():
    with pytest.raises(WebhookPayloadError, match="X-GitHub-Event"):
        parse_git_push(GitProvider.GITHUB, request(github_push()))


def test_malformed_bodies_are_payload_errors_naming_the_field():
    broken = github_push()
    del broken["repository"]
    with pytest.raises(WebhookPayloadError, match="'repository'"):
        parse_git_push(GitProvider.GITHUB, request(broken, **{"X-GitHub-Event": "push"}))
    not_json = WebhookRequest(headers={"X-GitHub-Event": "push"}, body=b"{nope")
    with pytest.raises(WebhookPayloadError, match="not valid JSON"):
        parse_git_push(GitProvider.GITHUB, not_json)
    a_list = WebhookRequest(headers={"X-GitHub-Event": "push"}, body=b"[1, 2]")
    with pytest.raises(WebhookPayloadError, match="not an object"):
        parse_git_push(GitProvider.GITHUB, a_list)


def test_gitlab_push_hook():
    event = only_event(
        parse_git_push(
            GitProvider.GITLAB, request(gitlab_push(), **{"X-Gitlab-Event": "Push Hook"})
        )
    )
    assert (event.branch, event.revision) == ("main", SHA)
    assert event.repo_urls == (
        "git@gitlab.example.com:platform/deploy-config.git",
        "https://gitlab.example.com/platform/deploy-config.git",
        "https://gitlab.example.com/platform/deploy-config",
    )


@pytest.mark.parametrize(
    ("payload", "hook", "reason"),
    [
        (gitlab_push(kind="tag_push", ref="refs/tags/v2"), "Tag Push Hook", "not a branch push"),
        (gitlab_push(after=ZERO), "Push Hook", "deleted"),
        ({"object_kind": "merge_request"}, "Merge Request Hook", "not a branch push"),
    ],
)
def test_gitlab_non_pushes_are_ignored(payload, hook, reason):
    result = parse_git_push(GitProvider.GITLAB, request(payload, **{"X-Gitlab-Event": hook}))
    assert isinstance(result, Ignored)
    assert reason in result.reason


def test_bitbucket_push_gives_one_event_per_updated_branch():
    payload = bitbucket_push(
        [
            bitbucket_change(name="main"),
            bitbucket_change(kind="tag", name="v1.0.0"),
            bitbucket_change(name="old-feature", deleted=True),
            bitbucket_change(name="staging", new_hash="a" * 40),
        ]
    )
    result = parse_git_push(GitProvider.BITBUCKET, request(payload, **{"X-Event-Key": "repo:push"}))
    assert isinstance(result, tuple)
    assert [(e.branch, e.revision) for e in result] == [("main", SHA), ("staging", "a" * 40)]
    assert result[0].repo_urls == (
        "git@bitbucket.org:acme/deploy-config.git",
        "https://bitbucket.org/acme/deploy-config.git",
        "https://bitbucket.org/acme/deploy-config",
    )


def test_bitbucket_with_only_deletions_is_ignored():
    payload = bitbucket_push([bitbucket_change(deleted=True)])
    result = parse_git_push(GitProvider.BITBUCKET, request(payload, **{"X-Event-Key": "repo:push"}))
    assert isinstance(result, Ignored)
    other = parse_git_push(GitProvider.BITBUCKET, request({}, **{"X-Event-Key": "repo:fork"}))
    assert isinstance(other, Ignored)


def test_gitea_push_and_the_gogs_header():
    event = only_event(
        parse_git_push(GitProvider.GITEA, request(gitea_push(), **{"X-Gitea-Event": "push"}))
    )
    assert event.repo_urls[0] == "ssh://git@gitea.example.com:2222/ops/config.git"
    assert (event.branch, event.revision, event.provider) == ("main", SHA, GitProvider.GITEA)
    gogs = parse_git_push(GitProvider.GITEA, request(gitea_push(), **{"X-Gogs-Event": "push"}))
    assert only_event(gogs).branch == "main"
    created = parse_git_push(GitProvider.GITEA, request({}, **{"X-Gitea-Event": "create"}))
    assert isinstance(created, Ignored)


def test_generic_push_forms():
    event = only_event(
        parse_git_push(
            GitProvider.GENERIC,
            request(
                {
                    "repo_urls": ["git@git.example.com:org/config.git"],
                    "branch": "main",
                    "revision": SHA,
                }
            ),
        )
    )
    assert event == GitPushEvent(
        repo_urls=("git@git.example.com:org/config.git",),
        branch="main",
        revision=SHA,
        provider=GitProvider.GENERIC,
    )
    by_ref = parse_git_push(
        GitProvider.GENERIC,
        request({"repo_url": "https://git.example.com/org/config", "ref": "refs/heads/prod"}),
    )
    assert only_event(by_ref).branch == "prod"
    assert only_event(by_ref).revision is None
    with pytest.raises(WebhookPayloadError, match="'ref'"):
        parse_git_push(GitProvider.GENERIC, request({"repo_url": "https://git.example.com/x"}))


@pytest.mark.parametrize(
    "spelling",
    [
        "git@github.com:Acme/Deploy-Config.git",
        "ssh://git@github.com:22/acme/deploy-config",
        "https://github.com/acme/deploy-config/",
        "https://token@github.com/acme/deploy-config.git",
    ],
)
def test_matches_repo_across_spellings(spelling):
    event = only_event(
        parse_git_push(GitProvider.GITHUB, request(github_push(), **{"X-GitHub-Event": "push"}))
    )
    assert normalize_git_url(spelling) == "github.com/acme/deploy-config"
    assert event.matches_repo(spelling)
    assert not event.matches_repo("git@github.com:acme/other-config.git")
