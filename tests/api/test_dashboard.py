"""The dashboard over a stand-in daemon: login, sessions, CSRF, pages, actions and escaping.

As in test_app.py, the stand-ins answer with real core data: the sync marker and the automation
plan are core objects, and the stand-in release manager plans releases and policy changes with
the real core planners over an in-memory config repo (so a lock really refuses a release). The
real daemon, git server, registry and cluster behind the same pages are in
test_dashboard_browser.py.
"""

import re
import warnings
from datetime import UTC, datetime
from itertools import count

import pytest

from conveyor.adapters.git import GitCommandError, Remote
from conveyor.adapters.kube import ApiUnavailable
from conveyor.api.app import create_app
from conveyor.api.dashboard_render import operation_flash
from conveyor.api.dashboard_session import SESSION_COOKIE, SessionKeys, user_name
from conveyor.core.commit_message import ReleasedChange
from conveyor.core.plan import plan_automation
from conveyor.core.policy import TagCandidate
from conveyor.core.release import (
    OperationResult,
    WorkloadHealth,
    WorkloadView,
    normalize_workload_id,
    read_workloads,
)
from conveyor.core.release_history import HistoryEntry, HistoryKind, HistoryResult
from conveyor.core.release_plan import apply_release, plan_release
from conveyor.core.release_policy import plan_policy_change
from conveyor.core.sync.objects import ObjectRef
from conveyor.core.sync.record import (
    Action,
    ObjectResult,
    Outcome,
    Refusal,
    SyncFailure,
    SyncMarker,
)
from conveyor.daemon.automation import AutomationResult, AutomationTarget
from conveyor.daemon.metrics import DaemonMetrics
from conveyor.daemon.runner_state import AutomationDisabled, Readiness

with warnings.catch_warnings():
    # starlette 1.x asks for httpx2 behind its TestClient; the pinned httpx 0.28 works the same.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

TOKEN = "dashboard-token-that-must-never-show"
WEB = "shop:deployment/web"
NOW = datetime(2026, 1, 31, 12, 0, 5, tzinfo=UTC)
HOSTILE = "<script>alert('owned')</script>"
MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    conveyor.dev/automated: "true"
    conveyor.dev/tag.app: "semver:~1.2"
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.example.com/shop/web:1.2.3
"""


class StandInReleases:
    """The release manager's surface over an in-memory config repo, planned by the real core."""

    def __init__(self):
        self.files = {"apps/web.yaml": MANIFEST}
        self.entries = []
        self.calls = []
        self.failure = None
        self._commits = count(1)

    def located(self):
        return read_workloads(self.files)[0]

    async def list_workloads(self):
        if self.failure is not None:
            raise self.failure
        live = {"app": "registry.example.com/shop/web:1.2.2"}
        return [WorkloadView.of(w, live) for w in self.located()]

    async def history(self, workload=None, limit=50):
        wanted = normalize_workload_id(workload) if workload else None
        return [e for e in self.entries if wanted is None or wanted in e.workloads][:limit]

    async def release(self, request):
        self.calls.append(("release", request))
        plan = plan_release(
            self.located(), request.selector, image=request.image, force=request.force, now=NOW
        )
        commit = self._commit(apply_release(self.files, plan.edits)) if plan.edits else None
        if commit is not None:
            self._record(HistoryKind.RELEASE, request, plan.workload_ids, commit, plan.changes)
        return self._result("release", plan.changes, commit, plan.skipped)

    async def change_policy(self, request):
        self.calls.append(("policy", request))
        edit = plan_policy_change(
            self.files,
            self.located(),
            request.selector,
            request.action,
            container=request.container,
            pattern=request.pattern,
            user=request.user,
            message=request.message,
        )
        commit = self._commit(edit.changed_files) if edit.changes else None
        if commit is not None:
            workloads = tuple(dict.fromkeys(c.workload_id for c in edit.changes))
            self._record(HistoryKind(request.action), request, workloads, commit, ())
        return self._result(request.action, edit.changes, commit, edit.skipped)

    async def rollback(self, request):
        self.calls.append(("rollback", request))
        raise GitCommandError(
            "git push failed: the remote hung up",
            argv=["git", "push"],
            returncode=128,
            stderr="fatal: the remote end hung up unexpectedly",
        )

    def _commit(self, changed_files):
        self.files.update(changed_files)
        return f"{next(self._commits):040x}"

    def _record(self, kind, request, workloads, commit, changes):
        entry = HistoryEntry(
            kind=kind,
            user=request.user,
            message=request.message,
            time=NOW,
            workloads=workloads,
            commit=commit,
            result=HistoryResult.SUCCEEDED,
            changes=changes,
            detail="shop:deployment/web: Healthy",
        )
        self.entries.insert(0, entry)

    @staticmethod
    def _result(kind, changes, commit, skipped):
        health = (WorkloadHealth(WEB, "Healthy", "rolled out"),) if commit else None
        return OperationResult(
            kind=kind,
            dry_run=False,
            changes=changes,
            commit=commit,
            diff=(),
            sync=None,
            health=health,
            rolled_back=False,
            message="committed" if commit else "nothing to change",
            skipped=skipped,
        )


def partial_marker():
    web = ObjectRef("apps/v1", "Deployment", "shop", "web")
    api = ObjectRef("apps/v1", "Deployment", "shop", "api")
    return SyncMarker(
        name="default",
        revision="a1b2c3d4e5f6" + "0" * 28,
        time="2026-01-31T12:00:05+00:00",
        outcome=Outcome.PARTIAL,
        results=(
            ObjectResult(web, Action.CONFIGURED, "apps/web.yaml", 0, health="Healthy"),
            ObjectResult(api, Action.FAILED, "apps/api.yaml", 1, reason="invalid"),
        ),
        failures=(
            SyncFailure(
                "apps/api.yaml", 1, "spec.replicas: Invalid value: -1", "Deployment shop/api"
            ),
        ),
    )


def automation_result():
    plan = plan_automation(
        {"apps/web.yaml": MANIFEST},
        tags={
            "registry.example.com/shop/web": [
                TagCandidate(tag) for tag in ("1.2.3", "1.2.4", "1.3.0")
            ]
        },
        setter_policies={},
        now=NOW,
    )
    return AutomationResult(
        target=AutomationTarget(Remote.parse("ssh://git@git.example.com/org/config.git")),
        plan=plan,
        changes=(),
        revision="b" * 40,
        committed=False,
        dry_run=True,
    )


class StandInDaemon:
    def __init__(self):
        self.public_key = "ssh-ed25519 AAAAC3Nza conveyor"
        self.releases = StandInReleases()
        self.marker = partial_marker()
        self.automation_on = True
        self.calls = []
        self.metrics = DaemonMetrics()

    def readiness(self):
        return Readiness(git_fetched=True, cluster_reachable=False, problems=("no apiserver",))

    def metrics_text(self):
        return self.metrics.render()

    async def status(self):
        return self.marker

    async def sync_now(self):
        self.calls.append("sync")
        return self.marker

    async def plan_images(self):
        if not self.automation_on:
            raise AutomationDisabled("automation is switched off (--automation false)")
        return automation_result()

    async def automate_now(self):
        raise AssertionError("the dashboard never automates")

    async def on_git_push(self, event):
        pass

    async def on_image_push(self, event):
        pass


@pytest.fixture
def daemon():
    return StandInDaemon()


@pytest.fixture
def client(daemon):
    with TestClient(create_app(state=daemon, token=TOKEN)) as test_client:
        yield test_client


def log_in(client, *, name="alice", token=TOKEN):
    return client.post(
        "/ui/login", data={"token": token, "name": name, "next": "/ui/"}, follow_redirects=False
    )


def csrf_of(page):
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, "every page with a session carries the CSRF token in its forms"
    return found[1]


def flash_of(page):
    found = re.search(r'<p class="flash flash-(\w+)" role="status">(.*?)</p>', page.text, re.S)
    return (found[1], found[2]) if found else None


@pytest.fixture
def session(client):
    assert log_in(client).status_code == 303
    return csrf_of(client.get("/ui/workloads"))


PAGES = ["/ui/", "/ui/workloads", "/ui/images", "/ui/history?workload=shop:deployment/web"]
ACTIONS = [
    ("/ui/sync", {}),
    ("/ui/workloads/release", {"workload": WEB, "image": "registry.example.com/shop/web:1.2.4"}),
    ("/ui/workloads/rollback", {"workload": WEB}),
    ("/ui/workloads/policy", {"workload": WEB, "action": "lock", "message": "incident"}),
    ("/ui/workloads/tag-policy", {"workload": WEB, "container": "app", "pattern": "newest"}),
    ("/ui/logout", {}),
]


@pytest.mark.parametrize("path", [*PAGES, "/ui/fragments/sync"])
def test_every_page_sends_a_browser_without_a_session_to_the_login(client, path):
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/ui/login?next=/ui/")
    login = client.get(response.headers["location"])
    assert login.status_code == 200 and 'name="token"' in login.text
    assert 'name="next" value="/ui/' in login.text


@pytest.mark.parametrize(("path", "form"), ACTIONS)
def test_no_action_runs_without_a_session(client, daemon, path, form):
    response = client.post(path, data={**form, "csrf": "x"}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/ui/login")
    assert daemon.calls == [] and daemon.releases.calls == []


def test_a_wrong_token_shows_the_login_again_with_an_error(client):
    response = log_in(client, token="guessed-token-123")
    assert response.status_code == 401
    assert "not this daemon&#39;s API token" in response.text
    assert "guessed-token-123" not in response.text, "the typed token is not echoed back"
    assert SESSION_COOKIE not in response.cookies
    assert client.get("/ui/", follow_redirects=False).status_code == 303


def test_the_right_token_sets_a_session_cookie_that_is_not_the_token(client):
    response = log_in(client)
    assert (response.status_code, response.headers["location"]) == (303, "/ui/")
    [set_cookie] = [
        h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
    ]
    attributes = {part.strip().lower() for part in set_cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/ui"} <= attributes
    value = response.cookies[SESSION_COOKIE]
    assert TOKEN not in value and value != TOKEN
    pages = [client.get(path) for path in [*PAGES, "/ui/fragments/sync", "/ui/login"]]
    assert all(page.status_code == 200 for page in pages)
    assert not any(TOKEN in page.text for page in pages)
    assert flash_of(pages[0]) == ("ok", "Logged in as alice.")
    assert flash_of(client.get("/ui/")) is None, "a flash is shown once"


def test_a_login_never_redirects_off_the_dashboard(client):
    for target in ["https://evil.example/", "//evil.example/ui/", "/api/v1/status"]:
        response = client.post(
            "/ui/login", data={"token": TOKEN, "next": target}, follow_redirects=False
        )
        assert response.headers["location"] == "/ui/"
    client.cookies.clear()
    back = client.post(
        "/ui/login", data={"token": TOKEN, "next": "/ui/history"}, follow_redirects=False
    )
    assert back.headers["location"] == "/ui/history"


def test_a_tampered_or_expired_session_is_not_a_session(client):
    log_in(client)
    good = client.cookies[SESSION_COOKIE]
    body, _, signature = good.rpartition(".")
    nonce = body.split(".")[1]
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, body.replace(nonce, nonce[::-1]) + "." + signature)
    assert client.get("/ui/", follow_redirects=False).status_code == 303
    now = [1_000_000.0]
    keys = SessionKeys(TOKEN, max_age=60, clock=lambda: now[0])
    session, cookie = keys.issue("bob")
    assert keys.read(cookie) == session
    now[0] += 61
    assert keys.read(cookie) is None
    assert SessionKeys("another-token").read(cookie) is None, "a new token ends every session"


def test_overview_shows_readiness_the_last_sync_its_failures_and_a_refusal(client, daemon, session):
    page = client.get("/ui/")
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert ">a1b2c3d4e5f6<" in page.text and "partial" in page.text
    assert "2026-01-31 12:00:05 UTC" in page.text
    assert "1 configured" in page.text and "1 failed" in page.text
    assert "apps/api.yaml" in page.text and "spec.replicas: Invalid value: -1" in page.text
    assert "no apiserver" in page.text and "not ready" in page.text
    assert 'data-refresh="/ui/fragments/sync"' in page.text
    assert daemon.public_key in page.text
    daemon.marker = SyncMarker(
        name="default",
        revision="d" * 40,
        time="2026-01-31T12:01:00+00:00",
        outcome=Outcome.REFUSED,
        refusal=Refusal("unsigned", "the head commit has no signature", "", "c" * 40),
    )
    fragment = client.get("/ui/fragments/sync")
    assert "<html" not in fragment.text, "a fragment is the part, not a page"
    assert "the head commit has no signature" in fragment.text and "c" * 12 in fragment.text


def test_the_workloads_page_shows_images_live_images_and_policies(client, session):
    page = client.get("/ui/workloads")
    assert WEB in page.text and 'id="w-shop-deployment-web"' in page.text
    assert "registry.example.com/shop/web:1.2.3" in page.text
    assert "registry.example.com/shop/web:1.2.2" in page.text  # what the cluster runs
    assert "semver:~1.2" in page.text and "automated" in page.text
    for action in ("release", "rollback", "policy", "tag-policy"):
        assert f'action="/ui/workloads/{action}"' in page.text


def test_the_images_page_explains_every_candidate(client, daemon, session):
    page = client.get("/ui/images")
    for tag, verdict in [
        ("1.2.4", "chosen"),
        ("1.2.3", "older than chosen"),
        ("1.3.0", "filtered out"),
    ]:
        assert re.search(rf"<code>{re.escape(tag)}</code>.*?<td>{verdict}</td>", page.text, re.S)
    daemon.automation_on = False
    off = client.get("/ui/images")
    assert off.status_code == 200 and "Image automation is off" in off.text


def test_a_release_through_the_form_is_a_303_with_a_flash_and_lands_in_the_history(
    client, daemon, session
):
    response = client.post(
        "/ui/workloads/release",
        data={
            "csrf": session,
            "workload": WEB,
            "image": "registry.example.com/shop/web:1.2.4",
            "message": "ship it",
        },
        follow_redirects=False,
    )
    assert (response.status_code, response.headers["location"]) == (
        303,
        "/ui/workloads#w-shop-deployment-web",
    )
    [(_, request)] = daemon.releases.calls
    assert (request.user, request.message, request.selector.ids) == ("alice", "ship it", (WEB,))
    page = client.get(response.headers["location"])
    kind, text = flash_of(page)
    assert kind == "ok" and text.startswith("Released in commit 000000000000:")
    assert "registry.example.com/shop/web:1.2.4" in text
    history = client.get("/ui/history?workload=shop:deployment/web").text
    assert "alice" in history and "ship it" in history and "release" in history
    assert (
        "registry.example.com/shop/web:1.2.3</code> → <code>registry.example.com/shop/web:1.2.4"
        in history
    )


def test_a_locked_workload_refuses_a_release_with_a_visible_message(client, daemon, session):
    lock = {"csrf": session, "workload": WEB, "action": "lock", "message": "incident 42"}
    client.post("/ui/workloads/policy", data=lock)
    assert "locked: incident 42" in client.get("/ui/workloads").text
    page = client.post(
        "/ui/workloads/release",
        data={"csrf": session, "workload": WEB, "image": "registry.example.com/shop/web:1.2.4"},
    )
    kind, text = flash_of(page)
    assert kind == "error"
    assert "Not released: shop:deployment/web: locked (incident 42)" in text
    assert "registry.example.com/shop/web:1.2.4" not in daemon.releases.files["apps/web.yaml"]


def test_a_forced_release_goes_past_the_lock_and_says_it_was_forced(client, daemon, session):
    lock = {"csrf": session, "workload": WEB, "action": "lock", "message": "incident 42"}
    client.post("/ui/workloads/policy", data=lock)
    page = client.post(
        "/ui/workloads/release",
        data={
            "csrf": session,
            "workload": WEB,
            "image": "registry.example.com/shop/web:1.3.0",  # outside semver:~1.2 as well
            "message": "hotfix",
            "force": "true",
        },
    )
    kind, text = flash_of(page)
    assert kind == "ok" and text.startswith("Force-released in commit 000000000000:")
    assert "registry.example.com/shop/web:1.3.0" in daemon.releases.files["apps/web.yaml"]
    [_, (_, request)] = daemon.releases.calls
    assert (request.force, request.user, request.message) == (True, "alice", "hotfix")
    assert "hotfix" in client.get("/ui/history?workload=shop:deployment/web").text


def test_an_unticked_force_box_is_an_ordinary_release(client, daemon, session):
    page = client.get("/ui/workloads")
    assert re.search(r'<input type="checkbox" name="force" value="true">', page.text)
    client.post(
        "/ui/workloads/release",
        data={"csrf": session, "workload": WEB, "image": "registry.example.com/shop/web:1.2.4"},
    )
    [(_, request)] = daemon.releases.calls
    assert request.force is False


def test_a_tag_policy_set_through_the_form_is_committed_and_shown(client, daemon, session):
    form = 'action="/ui/workloads/tag-policy"[^>]*data-container="app"'
    assert re.search(form, client.get("/ui/workloads").text), "one form per container"
    response = client.post(
        "/ui/workloads/tag-policy",
        data={
            "csrf": session,
            "workload": WEB,
            "container": "app",
            "pattern": " glob:1.* ",
            "message": "any 1.x",
        },
        follow_redirects=False,
    )
    assert (response.status_code, response.headers["location"]) == (
        303,
        "/ui/workloads#w-shop-deployment-web",
    )
    [(_, request)] = daemon.releases.calls
    assert (request.action, request.container, request.pattern) == ("policy", "app", "glob:1.*")
    assert (request.user, request.message, request.selector.ids) == ("alice", "any 1.x", (WEB,))
    assert 'conveyor.dev/tag.app: "glob:1.*"' in daemon.releases.files["apps/web.yaml"]
    page = client.get(response.headers["location"])
    kind, text = flash_of(page)
    assert kind == "ok" and text.startswith("Set in commit 000000000000:")
    assert text.endswith("(tag policy of app: glob:1.*)")
    assert 'name="pattern" value="glob:1.*"' in page.text
    assert "semver:~1.2" not in daemon.releases.files["apps/web.yaml"]


def test_an_empty_pattern_clears_the_tag_policy(client, daemon, session):
    page = client.post(
        "/ui/workloads/tag-policy",
        data={"csrf": session, "workload": WEB, "container": "app", "pattern": "  "},
    )
    [(_, request)] = daemon.releases.calls
    assert request.pattern is None
    kind, text = flash_of(page)
    assert kind == "ok" and text.startswith("Cleared in commit")
    assert "conveyor.dev/tag.app" not in daemon.releases.files["apps/web.yaml"]
    assert 'name="pattern" value=""' in page.text


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("semver:nope", "invalid semver range &#39;nope&#39;"),
        ("bogus:1", "unknown policy; write semver:RANGE"),
    ],
)
def test_a_bad_tag_policy_is_an_error_flash_with_the_reason(
    client, daemon, session, pattern, reason
):
    before = dict(daemon.releases.files)
    page = client.post(
        "/ui/workloads/tag-policy",
        data={"csrf": session, "workload": WEB, "container": "app", "pattern": pattern},
    )
    assert page.status_code == 200
    kind, text = flash_of(page)
    assert kind == "error" and text.startswith("Could not set the tag policy of app:")
    assert reason in text
    assert daemon.releases.files == before, "nothing is committed"


def test_a_tag_policy_form_without_a_container_is_an_error_flash(client, daemon, session):
    page = client.post(
        "/ui/workloads/tag-policy",
        data={"csrf": session, "workload": WEB, "container": " ", "pattern": "newest"},
    )
    kind, text = flash_of(page)
    assert (page.status_code, kind) == (200, "error")
    assert "names the container it is for" in text
    assert daemon.releases.calls == []


@pytest.mark.parametrize(("path", "form"), ACTIONS)
@pytest.mark.parametrize("csrf", [None, "", "0" * 64, "forged"])
def test_a_form_without_this_sessions_csrf_token_is_403_and_does_nothing(
    client, daemon, session, path, form, csrf
):
    data = form if csrf is None else {**form, "csrf": csrf}
    response = client.post(path, data=data)
    assert response.status_code == 403
    assert "Form refused" in response.text
    assert daemon.calls == [] and daemon.releases.calls == []
    assert client.get("/ui/", follow_redirects=False).status_code == 200, "still logged in"


def test_another_sessions_csrf_token_is_refused(client, daemon, session):
    with TestClient(create_app(state=daemon, token=TOKEN)) as other:
        log_in(other, name="mallory")
        theirs = csrf_of(other.get("/ui/"))
    assert theirs != session
    response = client.post("/ui/workloads/rollback", data={"csrf": theirs, "workload": WEB})
    assert response.status_code == 403 and daemon.releases.calls == []


def test_failures_below_are_flashes_and_page_notes_never_a_500(client, daemon, session):
    page = client.post("/ui/workloads/rollback", data={"csrf": session, "workload": WEB})
    kind, text = flash_of(page)
    assert (page.status_code, kind) == (200, "error")
    assert text.startswith("Could not roll back: the config repo could not be fetched or pushed")
    assert "check that the git host" in text
    bad_id = client.post(
        "/ui/workloads/release", data={"csrf": session, "workload": "web", "image": "x:1"}
    )
    assert "namespace:kind/name" in flash_of(bad_id)[1]
    daemon.releases.failure = ApiUnavailable("cannot reach https://127.0.0.1:6443")
    listing = client.get("/ui/workloads")
    assert listing.status_code == 200 and "check that the apiserver is reachable" in listing.text
    daemon.releases = None
    assert "not running yet" in client.get("/ui/history").text


def test_sync_now_reports_the_outcome(client, daemon, session):
    page = client.post("/ui/sync", data={"csrf": session})
    assert daemon.calls == ["sync"]
    kind, text = flash_of(page)
    assert kind == "error" and text.startswith("Synced a1b2c3d4e5f6: partial")
    assert "spec.replicas: Invalid value: -1" in text


def test_hostile_strings_are_escaped_everywhere(client, daemon):
    log_in(client, name=f"eve {HOSTILE}")
    csrf = csrf_of(client.get("/ui/"))
    lock = {"csrf": csrf, "workload": WEB, "action": "lock", "message": HOSTILE}
    client.post("/ui/workloads/policy", data=lock)
    pages = [client.get(path).text for path in PAGES]
    pages.append(client.get(f"/ui/history?workload={HOSTILE}").text)
    assert all("<script>alert" not in page for page in pages)
    assert any("&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in page for page in pages)
    history = pages[3]
    assert "eve &lt;script&gt;" in history, "the login name is recorded, escaped on the page"


def test_a_login_name_is_one_printable_line(client):
    assert user_name("  ada\n\tlovelace\x00 ") == "ada lovelace"
    assert user_name("") == "dashboard"
    assert len(user_name("x" * 500)) == 64


def test_a_nameless_login_acts_as_dashboard(client, daemon):
    log_in(client, name="")
    csrf = csrf_of(client.get("/ui/"))
    client.post("/ui/workloads/policy", data={"csrf": csrf, "workload": WEB, "action": "lock"})
    [(_, request)] = daemon.releases.calls
    assert request.user == "dashboard"


def test_logout_ends_the_session(client, session):
    response = client.post("/ui/logout", data={"csrf": session}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/ui/login")
    assert SESSION_COOKIE not in client.cookies
    assert flash_of(client.get("/ui/login")) == ("ok", "Logged out.")
    assert client.get("/ui/workloads", follow_redirects=False).status_code == 303


def test_static_files_the_root_redirect_and_the_spec(client, daemon):
    script = client.get("/ui/static/conveyor.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "data-refresh" in script.text or "dataset.refresh" in script.text
    assert client.get("/ui/static/conveyor.css").headers["content-type"].startswith("text/css")
    assert client.get("/ui/static/..%2Fdashboard.py").status_code == 404
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui/"
    assert not any(path.startswith("/ui") for path in client.get("/openapi.json").json()["paths"])
    with TestClient(create_app(state=daemon, token=TOKEN, dashboard=False)) as bare:
        assert bare.get("/ui/", follow_redirects=False).status_code == 404


def test_a_commit_the_sync_did_not_apply_is_an_error_flash_that_says_why():

    change = ReleasedChange("shop:deployment/web", "app", None, None, "web:1", "web:2")
    result = OperationResult(
        kind="release",
        dry_run=False,
        changes=(change,),
        commit="0123456789abcdef",
        diff=(),
        sync=None,
        health=None,
        rolled_back=False,
        message="Release web:2",
        not_applied="the sync refused commit 0123456: unsigned",
    )
    flash = operation_flash(result, action="released")
    assert flash.kind == "error"
    assert "not applied" in flash.text
    assert "the sync refused commit 0123456: unsigned" in flash.text
    assert "0123456789ab" in flash.text
