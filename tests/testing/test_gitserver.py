"""The git servers of the test environment, on the real sshd and git http-backend."""

import subprocess

import pytest

from conveyor.testing.gitserver import git

pytestmark = pytest.mark.integration


@pytest.fixture
def seed(tmp_path):
    d = tmp_path / "seed"
    (d / "apps").mkdir(parents=True)
    (d / "apps" / "web.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n"
    )
    return d


def push_a_change(work, message):
    (work / "CHANGE").write_text(message + "\n")
    git("add", "CHANGE", cwd=work)
    git("commit", "-q", "-m", message, cwd=work)


def head_message(bare):
    return git("--git-dir", str(bare), "log", "-1", "--format=%s", "main").strip()


def test_clone_and_push_over_ssh_with_the_deploy_key(testenv, config_repo, seed, tmp_path):
    repo = config_repo(seed)
    env = {"GIT_SSH_COMMAND": testenv.git.ssh_command()}
    work = tmp_path / "clone"
    git("clone", "-q", repo.ssh_url, str(work), env=env)
    assert (work / "apps" / "web.yaml").read_text().startswith("apiVersion: v1")
    push_a_change(work, "Change over ssh")
    git("push", "-q", "origin", "main", cwd=work, env=env)
    assert head_message(repo.path) == "Change over ssh"


def test_ssh_refuses_a_host_key_that_does_not_match_known_hosts(
    testenv, config_repo, seed, tmp_path
):
    repo = config_repo(seed)
    other = tmp_path / "other_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    key_type, key_data = other.with_suffix(".pub").read_text().split()[:2]
    wrong_known_hosts = tmp_path / "known_hosts"
    wrong_known_hosts.write_text(f"[127.0.0.1]:{testenv.git.ssh_port} {key_type} {key_data}\n")
    env = {"GIT_SSH_COMMAND": testenv.git.ssh_command(known_hosts=wrong_known_hosts)}
    with pytest.raises(Exception, match=r"Host key verification failed|REMOTE HOST IDENTIFICATION"):
        git("clone", "-q", repo.ssh_url, str(tmp_path / "clone"), env=env)
    assert not (tmp_path / "clone" / "apps").exists()


def test_ssh_refuses_a_key_that_is_not_the_deploy_key(testenv, config_repo, seed, tmp_path):
    repo = config_repo(seed)
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    env = {"GIT_SSH_COMMAND": testenv.git.ssh_command(key=stranger)}
    with pytest.raises(Exception, match=r"Permission denied"):
        git("clone", "-q", repo.ssh_url, str(tmp_path / "clone"), env=env)


def test_the_deploy_key_gets_no_shell(testenv):
    result = subprocess.run(
        [
            *testenv.git.ssh_command().split(),
            "-p",
            str(testenv.git.ssh_port),
            f"{testenv.git.ssh_user}@127.0.0.1",
            "id",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "uid=" not in result.stdout


def with_credentials(url, user, password):
    return url.replace("http://", f"http://{user}:{password}@")


def test_clone_and_push_over_http_with_basic_auth(testenv, config_repo, seed, tmp_path):
    repo = config_repo(seed)
    url = with_credentials(repo.http_url, testenv.git.http_user, testenv.git.http_password)
    work = tmp_path / "clone"
    git("clone", "-q", url, str(work))
    assert (work / "apps" / "web.yaml").exists()
    push_a_change(work, "Change over http")
    git("push", "-q", "origin", "main", cwd=work)
    assert head_message(repo.path) == "Change over http"


def test_http_rejects_a_wrong_password(testenv, config_repo, seed, tmp_path):
    repo = config_repo(seed)
    url = with_credentials(repo.http_url, testenv.git.http_user, "wrong-password")
    with pytest.raises(Exception, match=r"Authentication failed|401"):
        git("clone", "-q", url, str(tmp_path / "clone"))
    with pytest.raises(Exception, match=r"Authentication failed|401|could not read Username"):
        git("ls-remote", repo.http_url)


def test_a_plain_path_remote_works(config_repo, seed, tmp_path):
    repo = config_repo(seed)
    work = tmp_path / "clone"
    git("clone", "-q", f"file://{repo.path}", str(work))
    push_a_change(work, "Change over a path")
    git("push", "-q", "origin", "main", cwd=work)
    assert head_message(repo.path) == "Change over a path"


def test_an_empty_repo_can_be_created_and_pushed_to(testenv, config_repo, seed, tmp_path):
    repo = config_repo()
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "--initial-branch=main", cwd=work)
    push_a_change(work, "First commit")
    git(
        "push",
        "-q",
        repo.ssh_url,
        "main",
        cwd=work,
        env={"GIT_SSH_COMMAND": testenv.git.ssh_command()},
    )
    assert head_message(repo.path) == "First commit"
