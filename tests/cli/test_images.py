"""``conveyor images`` and ``conveyor automate`` on the real registry and git server."""

import json

import pytest
import yaml
from typer.testing import CliRunner

from conveyor.cli.main import app
from conveyor.testing.procs import free_port
from tests.cli.test_daemon import hold_in_another_process
from tests.daemon.automation_repo import deployment, revisions, write_tree

SEMVER_12 = {"conveyor.dev/automated": "true", "conveyor.dev/tag.app": "semver:~1.2"}


def shop(image: str) -> str:
    return "---\n".join(
        [
            deployment("web", f"{image}:1.2.3", **SEMVER_12),
            deployment("pinned", f"{image}:1.2.3", **SEMVER_12, **{"conveyor.dev/locked": "true"}),
            deployment(
                "next",
                f"{image}:1.3.0",
                **{"conveyor.dev/automated": "true", "conveyor.dev/tag.app": "semver:~1.3"},
            ),
            deployment("plain", "busybox:1.36"),
        ]
    )


@pytest.fixture
def cli(testenv, tmp_path):
    """Runs a conveyor command against an SSH repo of the test git server."""

    def invoke(command, repo, *args, env=None):
        return CliRunner().invoke(
            app,
            [
                command,
                "--repo",
                repo.ssh_url,
                "--ssh-key",
                str(testenv.git.deploy_key),
                "--known-hosts",
                str(testenv.git.known_hosts),
                "--state-dir",
                str(tmp_path / "state"),
                *args,
            ],
            env=env,
        )

    return invoke


@pytest.fixture
def shop_repo(testenv, tmp_path, config_repo, pusher, registry_repo):
    p = pusher("anonymous")
    for tag in ("1.2.3", "1.2.4", "1.3.0", "1.4.0"):
        p.push_image(registry_repo, tag)
    image = f"{testenv.registries['anonymous'].host}/{registry_repo}"
    return config_repo(write_tree(tmp_path / "seed", {"apps/shop.yaml": shop(image)})), image


@pytest.mark.integration
def test_images_explains_each_decision_then_automate_commits_and_images_agrees(
    testenv, cli, shop_repo
):
    repo, image = shop_repo
    insecure = ["--insecure-registry", testenv.registries["anonymous"].host]
    seeded = revisions(repo.path)

    listed = cli("images", repo, "--explain", *insecure)
    assert listed.exit_code == 0, listed.output
    rows = {
        line.split()[0] + " " + line.split()[1]: line for line in listed.stdout.splitlines()[1:5]
    }
    assert rows["shop:deployment/web app"].split()[2:] == [f"{image}:1.2.3", "1.2.4", "update"]
    assert rows["shop:deployment/pinned app"].split()[2:] == [f"{image}:1.2.3", "-", "locked"]
    assert rows["shop:deployment/next app"].split()[2:] == [
        f"{image}:1.3.0",
        "1.3.0",
        "up",
        "to",
        "date",
    ]
    assert rows["shop:deployment/plain app"].split()[2:] == [
        "busybox:1.36",
        "-",
        "not",
        "automated",
    ]
    explained = listed.stdout
    assert (
        f"shop:deployment/web container app ({image}:1.2.3): update to {image}:1.2.4" in explained
    )
    assert "shop:deployment/pinned container app" in explained
    assert "locked; its images do not change" in explained
    assert "shop:deployment/next container app" in explained
    assert "1.3.0 is up to date under semver:~1.3" in explained
    assert "    1.4.0: outside range ~1.3" in explained
    assert "    1.3.0: outside range ~1.2" in explained
    assert revisions(repo.path) == seeded, "images writes nothing"

    automated = cli("automate", repo, *insecure)
    assert automated.exit_code == 0, automated.output
    head = revisions(repo.path)[0]
    assert automated.stdout.splitlines() == [
        f"committed {head} to branch main (1 change)",
        f"- shop:deployment/web container app: {image}:1.2.3 -> {image}:1.2.4",
    ]

    again = cli("images", repo, "-o", "json", "--explain", *insecure)
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)
    assert data["revision"] == head and data["committed"] is False
    by_workload = {entry["workload"]: entry for entry in data["images"]}
    assert (
        by_workload["shop:deployment/web"]["outcome"],
        by_workload["shop:deployment/web"]["chosenTag"],
    ) == ("up_to_date", "1.2.4")
    assert by_workload["shop:deployment/pinned"]["outcome"] == "locked"
    next_candidates = {
        c["tag"]: c["reason"] for c in by_workload["shop:deployment/next"]["candidates"]
    }
    assert next_candidates["1.4.0"] == "filtered_out"

    nothing = cli("automate", repo, *insecure, "-o", "yaml")
    assert nothing.exit_code == 0, nothing.output
    assert yaml.safe_load(nothing.stdout)["committed"] is False
    assert revisions(repo.path)[0] == head


@pytest.mark.integration
def test_automate_dry_run_over_http_and_a_broken_registry_exit_1(
    testenv, tmp_path, config_repo, pusher, registry_repo
):
    anonymous = testenv.registries["anonymous"].host
    closed = f"127.0.0.1:{free_port()}"
    p = pusher("anonymous")
    p.push_image(registry_repo, "1.2.3")
    p.push_image(registry_repo, "1.2.4")
    files = {
        "web.yaml": deployment("web", f"{anonymous}/{registry_repo}:1.2.3", **SEMVER_12),
        "gone.yaml": deployment("gone", f"{closed}/team/app:1.2.3", **SEMVER_12),
    }
    repo = config_repo(write_tree(tmp_path / "seed", files))
    config = tmp_path / "conveyor.yaml"
    config.write_text(f"registries:\n  - {{host: '{closed}', insecure: true}}\n")
    seeded = revisions(repo.path)
    result = CliRunner().invoke(
        app,
        [
            "automate",
            "--repo",
            repo.http_url,
            "--http-user",
            testenv.git.http_user,
            "--http-password-env",
            "GIT_PASSWORD",
            "--config",
            str(config),
            "--insecure-registry",
            anonymous,
            "--state-dir",
            str(tmp_path / "state"),
            "--dry-run",
        ],
        env={"GIT_PASSWORD": testenv.git.http_password},
    )
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[0].startswith("dry run: would commit 1 change to branch main")
    assert f"scan failed: {closed}/team/app" in result.stderr
    assert testenv.git.http_password not in result.output
    assert revisions(repo.path) == seeded


def test_a_bad_config_exits_2_naming_the_key(tmp_path):
    config = tmp_path / "conveyor.yaml"
    config.write_text("registries:\n  - host: https://r.example.com\n")
    result = CliRunner().invoke(
        app, ["images", "--repo", str(tmp_path / "repo"), "--config", str(config)]
    )
    assert result.exit_code == 2
    assert "registries[0].host" in result.stderr and "no scheme" in result.stderr


def test_a_deploy_key_without_known_hosts_is_refused(tmp_path):
    result = CliRunner().invoke(
        app, ["automate", "--repo", "ssh://git@example.com/r.git", "--ssh-key", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "--known-hosts" in result.output


def test_images_on_a_state_dir_another_process_holds_exits_2_then_runs_once_it_is_free(tmp_path):
    state = tmp_path / "state"
    argv = ["images", "--repo", str(tmp_path / "missing.git"), "--state-dir", str(state)]
    with hold_in_another_process(state) as holder:
        refused = CliRunner().invoke(app, argv)
        holder.stdin.close()
    assert refused.exit_code == 2
    assert f"the state directory {state} is in use by another conveyor process" in refused.output
    assert f"(pid {holder.pid})" in refused.output
    assert not (state / "registry-metadata.db").exists(), "the cache was not touched"
    # The holder exited: the run gets as far as the (missing) repo, and lets the lock go.
    ran = CliRunner().invoke(app, argv)
    assert ran.exit_code == 2
    assert "in use by another conveyor process" not in ran.output
    assert (state / "lock").read_text() == ""
