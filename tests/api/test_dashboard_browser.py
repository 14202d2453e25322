"""The dashboard in a real browser (headless Debian chromium through playwright), over a real
``conveyor daemon`` subprocess on the real git server, registry and control plane.

A person logs in with the token, sees the workload and its image, releases a newly pushed tag
through the form (the config repo gets the commit, the history page shows it), locks the
workload, sees the next release refused with a visible message, forces it past the lock, and
sets the container's tag policy (a bad pattern first, refused with the reason). If chromium
cannot be launched the test fails with the launch error; it is never skipped.
"""

import contextlib

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from conveyor.testing.demo import running_image
from conveyor.testing.gitserver import git
from tests.daemon.daemon_process import daemon_argv, running_daemon
from tests.daemon.polling import wait_until

pytestmark = pytest.mark.integration

TOKEN = "dashboard-browser-token-5f2a9c"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEADLINE = 90.0  # seconds, for a release's rollout
USER = "browser-test"


def manifest(namespace, image):
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {namespace}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
        - name: app
          image: {image}
"""


@contextlib.contextmanager
def launched_browser():
    """Chromium, headless; a launch failure fails the test with the error."""
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
        except Exception as e:
            pytest.fail(f"chromium could not be launched from {CHROMIUM}: {e}")
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def app(testenv, config_repo, registry_repo, namespace, pusher, tmp_path):
    """The image (pushed as 1.0.0) and a config repo deploying it; not automated, so only the
    dashboard releases."""
    image = f"{testenv.registries['anonymous'].host}/{registry_repo}"
    push = pusher("anonymous")
    push.push_image(registry_repo, "1.0.0")
    seed = tmp_path / "seed" / "apps"
    seed.mkdir(parents=True)
    (seed / "web.yaml").write_text(manifest(namespace, f"{image}:1.0.0"))
    return config_repo(seed.parent), image, push


@pytest.fixture
def daemon_url(testenv, kube, app, namespace, tmp_path):
    """``conveyor daemon`` on the app's config repo, once it has synced the seed."""
    repo, image, _ = app
    token_file = tmp_path / "api-token"
    token_file.write_text(TOKEN + "\n")
    argv = daemon_argv(
        {
            "repo": repo.ssh_url,
            "ssh-key": testenv.git.deploy_key,
            "known-hosts": testenv.git.known_hosts,
            "kubeconfig": testenv.cluster.kubeconfig,
            "state-dir": tmp_path / "state",
            "sync-name": namespace,
            "sync-interval": "300s",
            "scan-interval": "300s",
            "health-timeout": "60s",
            "insecure-registries": testenv.registries["anonymous"].host,
            "api-token-file": token_file,
            "listen": "127.0.0.1:0",
        }
    )
    with running_daemon(argv, tmp_path / "daemon.log") as daemon:
        wait_until(lambda: running_image(kube, namespace) == f"{image}:1.0.0", "the first sync")
        yield daemon.url
    assert TOKEN not in daemon.log_text(), "the token never reaches the logs"


def head(bare):
    return git("--git-dir", str(bare), "rev-parse", "main").strip()


def workload_form(page: Page, workload: str, action: str, *, policy: str | None = None):
    card = page.locator(f'article[data-workload="{workload}"]')
    form = card.locator(f'form[action="/ui/workloads/{action}"]')
    if policy is not None:
        form = form.filter(has=page.locator(f'input[name="action"][value="{policy}"]'))
    return form


def test_log_in_release_lock_see_a_refusal_force_it_and_set_a_tag_policy(
    app, daemon_url, namespace, kube, registry_repo
):
    repo, image, push = app
    workload = f"{namespace}:deployment/web"
    seeded = head(repo.path)
    with launched_browser() as browser:
        page = logged_in_page(browser, daemon_url)
        card = page.locator(f'article[data-workload="{workload}"]')
        expect(card.get_by_role("heading", name=workload)).to_be_visible()
        expect(card.locator("td code").first).to_have_text(f"{image}:1.0.0")

        push.push_image(registry_repo, "1.1.0")
        release = workload_form(page, workload, "release")
        release.get_by_label("Image").fill(f"{image}:1.1.0")
        release.get_by_label("Message").fill("ship 1.1.0")
        release.get_by_role("button", name="Release").click()
        flash = page.get_by_role("status")
        expect(flash).to_contain_text("Released in commit", timeout=DEADLINE * 1000)
        expect(flash).to_contain_text(f"{image}:1.1.0")

        released = head(repo.path)
        assert released != seeded
        assert released[:12] in flash.inner_text()
        diff = git("--git-dir", str(repo.path), "diff", seeded, released)
        assert f"-          image: {image}:1.0.0" in diff
        assert f"+          image: {image}:1.1.0" in diff
        assert running_image(kube, namespace) == f"{image}:1.1.0"

        card.get_by_role("link", name="history").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"History of {workload}")
        row = page.locator("table.history tbody tr").filter(has_text="ship 1.1.0")
        expect(row).to_contain_text(USER)
        expect(row).to_contain_text(f"{image}:1.1.0")
        expect(row).to_contain_text(released[:12])
        expect(row).to_contain_text("succeeded")

        page.get_by_role("navigation").get_by_role("link", name="Workloads").click()
        lock = workload_form(page, workload, "policy", policy="lock")
        lock.get_by_label("Message").fill("incident 42")
        lock.get_by_role("button", name="Lock").click()
        expect(page.get_by_role("status")).to_contain_text("Locked in commit")
        expect(card).to_contain_text("locked: incident 42")
        locked = head(repo.path)

        push.push_image(registry_repo, "1.2.0")
        release = workload_form(page, workload, "release")
        release.get_by_label("Image").fill(f"{image}:1.2.0")
        release.get_by_role("button", name="Release").click()
        refusal = page.get_by_role("status")
        expect(refusal).to_contain_text(f"Not released: {workload}: locked (incident 42)")
        expect(refusal).to_have_class("flash flash-error")
        assert head(repo.path) == locked, "a refused release makes no commit"

        release = workload_form(page, workload, "release")
        release.get_by_label("Image").fill(f"{image}:1.2.0")
        release.get_by_label("Force past locks and tag filters").check()
        release.get_by_role("button", name="Release").click()
        forced = page.get_by_role("status")
        expect(forced).to_contain_text("Force-released in commit", timeout=DEADLINE * 1000)
        assert running_image(kube, namespace) == f"{image}:1.2.0"

        policy = card.locator('form[action="/ui/workloads/tag-policy"][data-container="app"]')
        policy.get_by_label("Tag policy of app").fill("semver:nope")
        policy.get_by_role("button", name="Set").click()
        bad = page.get_by_role("status")
        expect(bad).to_contain_text("Could not set the tag policy of app")
        expect(bad).to_have_class("flash flash-error")
        policy.get_by_label("Tag policy of app").fill("semver:~1.2")
        policy.get_by_role("button", name="Set").click()
        expect(page.get_by_role("status")).to_contain_text("(tag policy of app: semver:~1.2)")
        expect(policy.get_by_label("Tag policy of app")).to_have_value("semver:~1.2")
        annotated = git("--git-dir", str(repo.path), "show", f"{head(repo.path)}:apps/web.yaml")
        assert 'conveyor.dev/tag.app: "semver:~1.2"' in annotated
        assert TOKEN not in page.content()


def logged_in_page(browser: Browser, url: str) -> Page:
    """A page logged in through the form, on the workloads page it asked for first."""
    page = browser.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{url}/ui/workloads")
    expect(page).to_have_url(f"{url}/ui/login?next=/ui/workloads")
    page.get_by_label("API token").fill("not-the-token")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("not this daemon's API token")
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_label("Your name, for the history").fill(USER)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{url}/ui/workloads")
    expect(page.get_by_role("status")).to_have_text(f"Logged in as {USER}.")
    return page
