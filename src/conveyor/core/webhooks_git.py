"""Git push webhooks (GitHub, GitLab, Bitbucket Cloud, Gitea, generic) into `GitPushEvent`s.

Only branch pushes become events: the config repo is tracked by branch. Pings, tag pushes,
branch deletions and other event kinds are `Ignored` with the reason, so the sender sees why
nothing happened. Call these only after `webhooks_verify` accepted the request.

The generic payload, for CI systems and scripts (signed like all generic webhooks)::

    {"repo_urls": ["git@git.example.com:org/config.git"],   # or "repo_url": "<one url>"
     "branch": "main",                                       # or "ref": "refs/heads/main"
     "revision": "<commit sha>"}                             # optional
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from conveyor.core.events import (
    GitParseResult,
    GitProvider,
    GitPushEvent,
    Ignored,
    WebhookPayloadError,
    WebhookRequest,
    unique,
)
from conveyor.core.webhooks_payload import JsonObject, load_request_json

_ZERO_SHA = re.compile(r"^0+$")
_BRANCH_PREFIX = "refs/heads/"


def parse_git_push(provider: GitProvider, request: WebhookRequest) -> GitParseResult:
    """The branch pushes a verified `request` from `provider` reports, or why there are none."""
    return _PARSERS[provider](request)


def _branch_from_ref(ref: str) -> str | Ignored:
    if ref.startswith(_BRANCH_PREFIX) and len(ref) > len(_BRANCH_PREFIX):
        return ref.removeprefix(_BRANCH_PREFIX)
    if ref.startswith("refs/tags/"):
        return Ignored(f"{ref} is a tag, not a branch")
    return Ignored(f"{ref} is not a branch")


def _is_deletion(revision: str | None) -> bool:
    return revision is None or bool(_ZERO_SHA.match(revision))


def _event_header(request: WebhookRequest, header: str, *, provider: str) -> str:
    value = request.header(header)
    if not value:
        raise WebhookPayloadError(
            f"{provider} webhook: the {header} header is missing, so the event kind is unknown"
        )
    return value.strip()


def _github_style(
    payload: JsonObject, *, provider: GitProvider, url_keys: tuple[str, ...]
) -> GitParseResult:
    """GitHub's push payload, which Gitea copies (same ref/after/repository fields)."""
    branch = _branch_from_ref(payload.string("ref"))
    if isinstance(branch, Ignored):
        return branch
    revision = payload.opt_string("after")
    if payload.flag("deleted") or _is_deletion(revision):
        return Ignored(f"branch {branch} was deleted")
    repository = payload.obj("repository")
    urls = unique(repository.opt_string(key) for key in url_keys)
    if not urls:
        raise WebhookPayloadError(f"{provider} payload: the repository has no URL")
    return (GitPushEvent(repo_urls=urls, branch=branch, revision=revision, provider=provider),)


def _parse_github(request: WebhookRequest) -> GitParseResult:
    kind = _event_header(request, "X-GitHub-Event", provider="github")
    if kind == "ping":
        return Ignored("ping: the webhook is set up")
    if kind != "push":
        return Ignored(f"GitHub event {kind!r} is not a push")
    payload = load_request_json(request, provider="github")
    return _github_style(
        payload,
        provider=GitProvider.GITHUB,
        url_keys=("ssh_url", "clone_url", "git_url", "html_url"),
    )


def _parse_gitea(request: WebhookRequest) -> GitParseResult:
    # Older Gitea (and Gogs) send X-Gogs-Event; the payload is the same.
    kind = request.header("X-Gitea-Event") or request.header("X-Gogs-Event")
    if not kind:
        raise WebhookPayloadError(
            "gitea webhook: the X-Gitea-Event header is missing, so the event kind is unknown"
        )
    if kind != "push":
        return Ignored(f"Gitea event {kind!r} is not a push")
    payload = load_request_json(request, provider="gitea")
    return _github_style(
        payload, provider=GitProvider.GITEA, url_keys=("ssh_url", "clone_url", "html_url")
    )


def _parse_gitlab(request: WebhookRequest) -> GitParseResult:
    kind = _event_header(request, "X-Gitlab-Event", provider="gitlab")
    if kind != "Push Hook":
        return Ignored(f"GitLab event {kind!r} is not a branch push")
    payload = load_request_json(request, provider="gitlab")
    if payload.opt_string("object_kind") not in (None, "push"):
        return Ignored(f"GitLab object_kind {payload.opt_string('object_kind')!r} is not a push")
    branch = _branch_from_ref(payload.string("ref"))
    if isinstance(branch, Ignored):
        return branch
    revision = payload.opt_string("after")
    if _is_deletion(revision):
        return Ignored(f"branch {branch} was deleted")
    urls = unique(
        [
            *_strings_at(payload.opt_obj("project"), ("git_ssh_url", "git_http_url", "web_url")),
            *_strings_at(
                payload.opt_obj("repository"), ("git_ssh_url", "git_http_url", "homepage")
            ),
        ]
    )
    if not urls:
        raise WebhookPayloadError("gitlab payload: neither project nor repository has a URL")
    return (
        GitPushEvent(repo_urls=urls, branch=branch, revision=revision, provider=GitProvider.GITLAB),
    )


def _strings_at(obj: JsonObject | None, keys: tuple[str, ...]) -> list[str | None]:
    return [obj.opt_string(key) for key in keys] if obj else []


def _parse_bitbucket(request: WebhookRequest) -> GitParseResult:
    kind = _event_header(request, "X-Event-Key", provider="bitbucket")
    if kind == "diagnostics:ping":
        return Ignored("ping: the webhook is set up")
    if kind != "repo:push":
        return Ignored(f"Bitbucket event {kind!r} is not a push")
    payload = load_request_json(request, provider="bitbucket")
    repository = payload.obj("repository")
    urls = _bitbucket_urls(repository)
    events: list[GitPushEvent] = []
    for change in payload.obj("push").objects("changes"):
        new = change.opt_obj("new")
        # `new` is null when the branch or tag was deleted.
        if new is None or new.string("type") not in ("branch", "named_branch"):
            continue
        revision = new.obj("target").opt_string("hash")
        events.append(
            GitPushEvent(
                repo_urls=urls,
                branch=new.string("name"),
                revision=revision,
                provider=GitProvider.BITBUCKET,
            )
        )
    if not events:
        return Ignored("no branch was updated (only deletions or tags)")
    return tuple(events)


def _bitbucket_urls(repository: JsonObject) -> tuple[str, ...]:
    # The payload carries the web link only; the clone URLs follow from it by Bitbucket's rules.
    full_name = repository.string("full_name")
    links = repository.opt_obj("links")
    html = links.opt_obj("html") if links else None
    web_url = html.opt_string("href") if html else None
    host = urlsplit(web_url).hostname if web_url else None
    host = host or "bitbucket.org"
    return unique([f"git@{host}:{full_name}.git", f"https://{host}/{full_name}.git", web_url])


def _parse_generic(request: WebhookRequest) -> GitParseResult:
    payload = load_request_json(request, provider="generic")
    if payload.has("repo_urls"):
        urls = unique(payload.strings("repo_urls"))
    else:
        urls = unique([payload.string("repo_url")])
    if not urls:
        raise WebhookPayloadError("generic payload: 'repo_urls' is empty")
    if payload.has("branch"):
        branch: str | Ignored = payload.string("branch")
    else:
        branch = _branch_from_ref(payload.string("ref"))
    if isinstance(branch, Ignored):
        return branch
    revision = payload.opt_string("revision")
    return (
        GitPushEvent(
            repo_urls=urls, branch=branch, revision=revision, provider=GitProvider.GENERIC
        ),
    )


_PARSERS: dict[GitProvider, Callable[[WebhookRequest], GitParseResult]] = {
    GitProvider.GITHUB: _parse_github,
    GitProvider.GITEA: _parse_gitea,
    GitProvider.GITLAB: _parse_gitlab,
    GitProvider.BITBUCKET: _parse_bitbucket,
    GitProvider.GENERIC: _parse_generic,
}
