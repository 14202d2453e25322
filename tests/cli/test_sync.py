import json
import subprocess

import pytest
import yaml
from typer.testing import CliRunner

from conveyor.cli.main import app
from conveyor.testing.fixtures import unique_name
from conveyor.testing.gitserver import git
from tests.cli.test_daemon import hold_in_another_process
from tests.daemon.release_repo import target_fixture
from tests.daemon.sync_repo import deployment, dump

pytestmark = pytest.mark.integration


target = target_fixture("cli")


@pytest.fixture
def repo(tmp_path, target):
    (tmp_path / "app.yaml").write_text(
        dump(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": target}},
            deployment("web", target),
        )
    )
    return tmp_path


def invoke(testenv, *args):
    return CliRunner().invoke(app, [*args, "--kubeconfig", str(testenv.cluster.kubeconfig)])


def test_sync_then_status_as_json_and_yaml(testenv, target, repo):
    synced = invoke(
        testenv, "sync", str(repo), "--revision", "abc123", "--name", target, "-o", "json"
    )
    assert synced.exit_code == 0, synced.output
    data = json.loads(synced.output)
    assert data["revision"] == "abc123"
    assert data["outcome"] == "succeeded"
    assert {o["name"]: o["action"] for o in data["objects"]} == {
        target: "created",
        "web": "created",
    }
    web = next(o for o in data["objects"] if o["name"] == "web")
    assert web["health"] == "Healthy"
    assert (web["file"], web["document"]) == ("app.yaml", 1)

    status = invoke(testenv, "status", "--name", target, "-o", "yaml")
    assert status.exit_code == 0, status.output
    recorded = yaml.safe_load(status.output)
    assert recorded["revision"] == "abc123"
    assert recorded["counts"] == {"created": 2}

    table = invoke(testenv, "status", "--name", target)
    assert f"sync {target}: revision abc123" in table.output
    assert "Deployment" in table.output and "Healthy" in table.output


def test_diff_shows_drift_and_exits_1_and_dry_run_changes_nothing(testenv, target, repo, kube):
    assert (
        invoke(testenv, "sync", str(repo), "--name", target, "--health-timeout", "0").exit_code == 0
    )
    subprocess.run(
        [
            str(testenv.cluster.kubectl),
            f"--kubeconfig={testenv.cluster.kubeconfig}",
            "-n",
            target,
            "set",
            "image",
            "deployment/web",
            "app=nginx:other",
        ],
        check=True,
        capture_output=True,
    )
    diff = invoke(testenv, "diff", str(repo), "--name", target, "-o", "json")
    assert diff.exit_code == 1, diff.output
    (changed,) = json.loads(diff.output)["objects"]
    assert changed["name"] == "web"
    assert changed["drift"] == [
        {
            "path": "spec.template.spec.containers[app].image",
            "desired": "nginx:1.25",
            "live": "nginx:other",
        }
    ]
    dry = invoke(testenv, "sync", str(repo), "--name", target, "--dry-run")
    assert "would revert drift" in dry.output
    live = kube.get(f"/apis/apps/v1/namespaces/{target}/deployments/web").json()
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:other"


def test_status_of_a_sync_that_never_ran_exits_1(testenv):
    result = invoke(testenv, "status", "--name", unique_name("never"))
    assert result.exit_code == 1
    assert "has never run" in result.output


def test_an_unreachable_cluster_exits_2_with_a_hint(tmp_path):
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    (tmp_path / "kubeconfig").write_text(json.dumps(config))
    result = CliRunner().invoke(
        app,
        ["status", "--kubeconfig", str(tmp_path / "kubeconfig")],
        env={"CONVEYOR_KUBE_RETRY_SECONDS": "1"},
    )
    assert result.exit_code == 2
    assert "cannot reach the apiserver" in result.output


# --- syncing straight from a config repo (--repo) ---


@pytest.fixture
def config(config_repo, tmp_path, target):
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "app.yaml").write_text(
        dump(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": target}},
            deployment("web", target),
        )
    )
    return config_repo(seed)


def head_of(repo):
    return git("--git-dir", str(repo.path), "rev-parse", "main").strip()


def plain(output):
    """The words of ``output`` without the box rich draws around usage errors."""
    return " ".join(output.translate(str.maketrans("", "", "│╭╮╰╯─")).split())


def ssh_args(testenv, repo, tmp_path):
    return [
        "--repo",
        repo.ssh_url,
        "--branch",
        "main",
        "--ssh-key",
        str(testenv.git.deploy_key),
        "--known-hosts",
        str(testenv.git.known_hosts),
        "--state-dir",
        str(tmp_path / "state"),
    ]


def test_sync_from_a_repo_over_ssh_then_status_shows_its_revision(
    testenv, target, config, tmp_path
):
    synced = invoke(
        testenv, "sync", *ssh_args(testenv, config, tmp_path), "--name", target, "-o", "json"
    )
    assert synced.exit_code == 0, synced.output
    data = json.loads(synced.output)
    assert (data["revision"], data["outcome"]) == (head_of(config), "succeeded")
    assert "refusal" not in data
    status = invoke(testenv, "status", "--name", target)
    assert f"sync {target}: revision {head_of(config)}" in status.output

    unchanged = invoke(testenv, "diff", *ssh_args(testenv, config, tmp_path), "--name", target)
    assert unchanged.exit_code == 0, unchanged.output


def test_a_state_dir_another_process_holds_exits_2_naming_it_then_the_sync_runs(
    testenv, target, config, tmp_path
):
    state = tmp_path / "state"
    args = [*ssh_args(testenv, config, tmp_path), "--name", target]
    with hold_in_another_process(state) as holder:
        refused = {verb: invoke(testenv, verb, *args) for verb in ("sync", "diff")}
        holder.stdin.close()
    for verb, result in refused.items():
        assert result.exit_code == 2, (verb, result.output)
        assert f"the state directory {state} is in use by another conveyor process" in (
            result.output
        )
        assert f"(pid {holder.pid})" in result.output
    assert not (state / "mirrors").exists(), "nothing under the held directory was written"

    synced = invoke(testenv, "sync", *args, "-o", "json")
    assert synced.exit_code == 0, synced.output
    assert json.loads(synced.output)["revision"] == head_of(config)
    assert (state / "lock").read_text() == "", "released when the sync ended"


def test_a_tree_sync_keeps_no_state_and_takes_no_lock(testenv, target, repo, tmp_path):
    state = tmp_path / "state"
    with hold_in_another_process(state) as holder:
        synced = invoke(
            testenv, "sync", str(repo), "--name", target, "--health-timeout", "0",
            "--state-dir", str(state),
        )  # fmt: skip
        holder.stdin.close()
    assert synced.exit_code == 0, synced.output


def test_sync_over_http_takes_the_password_from_the_environment_and_never_shows_it(
    testenv, target, config, tmp_path
):
    password = testenv.git.http_password
    args = ["sync", "--repo", config.http_url, "--state-dir", str(tmp_path / "state")]
    args += ["--http-user", testenv.git.http_user, "--http-password-env", "CONFIG_REPO_PASSWORD"]
    args += ["--name", target, "--health-timeout", "0"]
    synced = CliRunner().invoke(
        app,
        [*args, "--kubeconfig", str(testenv.cluster.kubeconfig)],
        env={"CONFIG_REPO_PASSWORD": password},
    )
    assert synced.exit_code == 0, synced.output
    assert f"revision {head_of(config)}" in synced.output
    assert password not in synced.output

    wrong = CliRunner().invoke(
        app,
        [*args, "--kubeconfig", str(testenv.cluster.kubeconfig)],
        env={"CONFIG_REPO_PASSWORD": "wrong-" + password},
    )
    assert wrong.exit_code == 2
    assert "refused the credentials" in wrong.output
    assert password not in wrong.output


def test_an_unsigned_head_is_refused_and_status_says_why(testenv, target, config, tmp_path, kube):
    key = tmp_path / "release_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    key_type, key_data = key.with_suffix(".pub").read_text().split()[:2]
    signers = tmp_path / "allowed_signers"
    signers.write_text(f'release@example.invalid namespaces="git" {key_type} {key_data}\n')
    verify = ["--verify-signatures", "--allowed-signers", str(signers)]

    refused = invoke(
        testenv, "sync", *ssh_args(testenv, config, tmp_path), *verify, "--name", target
    )
    assert refused.exit_code == 1, refused.output
    assert f"refused revision {head_of(config)}: signature unsigned" in refused.output
    assert kube.get(f"/api/v1/namespaces/{target}").status_code == 404

    status = invoke(testenv, "status", "--name", target, "-o", "json")
    recorded = json.loads(status.output)
    assert (recorded["outcome"], recorded["revision"]) == ("refused", head_of(config))
    assert recorded["refusal"]["status"] == "unsigned"
    assert recorded["refusal"]["detail"] == "the commit is not signed"
    table = invoke(testenv, "status", "--name", target)
    assert "outcome: refused" in table.output
    assert "nothing was applied" in table.output

    diff = invoke(testenv, "diff", *ssh_args(testenv, config, tmp_path), *verify, "--name", target)
    assert diff.exit_code == 1
    assert "refused revision" in diff.output


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["TREE_AND_REPO"], "either a TREE directory or --repo"),
        (["--verify-signatures"], "--allowed-signers FILE or --gpg-home DIR"),
        (["--allowed-signers", "SIGNERS"], "add --verify-signatures"),
        (["--verify-signatures", "--gpg-home", "/nonexistent/gnupg"], "no such directory"),
        (
            ["--verify-signatures", "--gpg-home", "TREE_AND_REPO", "--allowed-signers", "SIGNERS"],
            "not both",
        ),
        (["--ssh-key", "KEY"], "both --ssh-key and --known-hosts"),
        (["--http-user", "u", "--http-password-env", "NO_SUCH_VARIABLE_X"], "is not set"),
        (["--token-env", "T", "--http-user", "u"], "different ways to authenticate"),
        (["--revision", "abc"], "with --repo the branch head is synced"),
    ],
)
def test_repo_options_that_do_not_fit_are_refused_before_anything_runs(
    testenv, tmp_path, extra, says
):
    (tmp_path / "SIGNERS").write_text("")
    replaced = [
        {"TREE_AND_REPO": str(tmp_path), "SIGNERS": str(tmp_path / "SIGNERS")}.get(a, a)
        for a in extra
    ]
    if "--ssh-key" in replaced:
        replaced[replaced.index("--ssh-key") + 1] = str(testenv.git.deploy_key)
    result = invoke(testenv, "sync", "--repo", "/nonexistent/repo.git", *replaced)
    assert result.exit_code == 2, result.output
    assert says in plain(result.output)


def test_a_password_in_the_url_is_refused_and_not_echoed(testenv):
    result = invoke(testenv, "sync", "--repo", "https://u:hunter2-pw@git.example.invalid/c.git")
    assert result.exit_code == 2
    assert "--http-password-env" in plain(result.output)
    assert "hunter2-pw" not in result.output
