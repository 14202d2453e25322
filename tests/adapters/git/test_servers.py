"""The git adapter against the real git servers: SSH with the deploy key, HTTP with basic auth."""

import subprocess

import pytest

from conveyor.adapters.git import (
    EditOutcome,
    GitAuthError,
    GitHostKeyError,
    GitMirror,
    HttpAuth,
    Remote,
    RepoWriter,
    SshAuth,
)
from conveyor.testing.gitserver import git

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
def seed(tmp_path):
    d = tmp_path / "seed"
    (d / "apps").mkdir(parents=True)
    (d / "apps" / "web.yaml").write_text("image: web:1\n")
    return d


def add_file(name: str):
    def edit(worktree):
        (worktree / name).write_text(f"{name}\n")
        return EditOutcome(True, f"Add {name}")

    return edit


def remote_head(bare) -> str:
    return git("--git-dir", str(bare), "rev-parse", "main").strip()


async def test_fetch_and_push_over_ssh_with_the_deploy_key(testenv, config_repo, seed, state_dir):
    repo = config_repo(seed)
    remote = Remote.parse(
        repo.ssh_url, auth=SshAuth(testenv.git.deploy_key, testenv.git.known_hosts)
    )
    mirror = GitMirror(remote, branch="main", state_dir=state_dir)
    head = await mirror.fetch()
    assert head == remote_head(repo.path)
    assert await mirror.read_file(head, "apps/web.yaml") == b"image: web:1\n"
    result = await RepoWriter(mirror).write(add_file("over-ssh.txt"))
    assert result.committed
    assert result.revision == remote_head(repo.path)
    assert git("--git-dir", str(repo.path), "show", "main:over-ssh.txt") == "over-ssh.txt\n"


async def test_fetch_and_push_over_http_with_basic_auth(testenv, config_repo, seed, state_dir):
    repo = config_repo(seed)
    remote = Remote.parse(
        repo.http_url, auth=HttpAuth(testenv.git.http_user, testenv.git.http_password)
    )
    assert testenv.git.http_password not in repr(remote)
    mirror = GitMirror(remote, branch="main", state_dir=state_dir)
    assert await mirror.fetch() == remote_head(repo.path)
    result = await RepoWriter(mirror).write(add_file("over-http.txt"))
    assert result.committed
    assert git("--git-dir", str(repo.path), "show", "main:over-http.txt") == "over-http.txt\n"
    # The password never reached the mirror's stored config.
    assert testenv.git.http_password not in (mirror.path / "config").read_text()


async def test_credentials_in_an_http_url_work_and_stay_hidden(
    testenv, config_repo, seed, state_dir
):
    repo = config_repo(seed)
    user, password = testenv.git.http_user, testenv.git.http_password
    remote = Remote.parse(repo.http_url.replace("http://", f"http://{user}:{password}@"))
    mirror = GitMirror(remote, branch="main", state_dir=state_dir)
    assert await mirror.fetch() == remote_head(repo.path)
    assert password not in repr(mirror)
    assert password not in repr(remote)


async def test_a_wrong_http_password_is_refused_without_showing_it(
    testenv, config_repo, seed, state_dir
):
    repo = config_repo(seed)
    wrong = "not-the-password-1234"
    remote = Remote.parse(repo.http_url, auth=HttpAuth(testenv.git.http_user, wrong))
    mirror = GitMirror(remote, branch="main", state_dir=state_dir)
    with pytest.raises(GitAuthError) as raised:
        await mirror.fetch()
    error = raised.value
    assert "refused the credentials" in str(error)
    assert "username and password/token" in str(error)
    for text in (str(error), repr(error), error.stderr, " ".join(error.argv)):
        assert wrong not in text
        assert testenv.git.http_password not in text


async def test_a_wrong_ssh_host_key_is_refused(testenv, config_repo, seed, state_dir, tmp_path):
    repo = config_repo(seed)
    other = tmp_path / "other_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    key_type, key_data = other.with_suffix(".pub").read_text().split()[:2]
    wrong_known_hosts = tmp_path / "known_hosts"
    wrong_known_hosts.write_text(f"[127.0.0.1]:{testenv.git.ssh_port} {key_type} {key_data}\n")
    remote = Remote.parse(repo.ssh_url, auth=SshAuth(testenv.git.deploy_key, wrong_known_hosts))
    mirror = GitMirror(remote, branch="main", state_dir=state_dir)
    with pytest.raises(GitHostKeyError, match="host key does not match known_hosts") as raised:
        await mirror.fetch()
    assert repo.ssh_url in str(raised.value)


async def test_an_ssh_key_the_server_does_not_know_is_refused(
    testenv, config_repo, seed, state_dir, tmp_path
):
    repo = config_repo(seed)
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    remote = Remote.parse(repo.ssh_url, auth=SshAuth(stranger, testenv.git.known_hosts))
    with pytest.raises(GitAuthError, match="refused the deploy key"):
        await GitMirror(remote, branch="main", state_dir=state_dir).fetch()
