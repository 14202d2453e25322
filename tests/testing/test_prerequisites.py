"""Missing prerequisites and failed services stop with a message that names them and the fix."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conveyor.testing import env, procs
from conveyor.testing.cluster import BINARIES, find_bin_dir
from conveyor.testing.errors import PrerequisiteError, ServiceError, TestEnvError
from conveyor.testing.registry import _start_registry

REPO = Path(__file__).resolve().parents[2]


def test_preflight_names_the_missing_packages(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(env.shutil, "which", lambda _name: None)
    with pytest.raises(PrerequisiteError) as excinfo:
        env.preflight()
    message = str(excinfo.value)
    for package in ("docker-registry", "apache2-utils", "openssh-client", "git"):
        assert package in message
    assert "make deps" in message


def test_a_partial_kubernetes_build_is_not_taken_for_a_complete_one(monkeypatch, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in BINARIES:
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
        if name != "kube-apiserver":
            (bin_dir / f"{name}.ok").write_text("built\n")
    monkeypatch.setenv("CONVEYOR_K8S_BIN", str(bin_dir))
    with pytest.raises(PrerequisiteError, match=r"kube-apiserver.*scripts/build-k8s"):
        find_bin_dir()


def test_build_script_check_fails_on_an_unstamped_cache(tmp_path):
    cache = tmp_path / "cache"
    result = subprocess.run(
        [str(REPO / "scripts" / "build-k8s"), "--check"],
        env={**os.environ, "CONVEYOR_CACHE": str(cache)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stdout == ""


def test_build_script_names_a_missing_go(tmp_path):
    result = subprocess.run(
        ["/bin/bash", str(REPO / "scripts" / "build-k8s")],
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "CONVEYOR_CACHE": str(tmp_path / "cache"),
        },
        capture_output=True,
        text=True,
    )
    if result.returncode == 0:
        pytest.fail("build-k8s succeeded without go on PATH")
    assert "the 'go' command is missing" in result.stderr


def test_a_service_on_a_taken_port_fails_with_its_log(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        service = _start_registry("anonymous", tmp_path, None, port)
        try:
            with pytest.raises(ServiceError) as excinfo:
                procs.wait_until(
                    lambda: procs.tcp_listening(port) and not procs.port_is_free(port) and False,
                    service=service,
                    what="the registry",
                    timeout=20,
                )
        finally:
            procs.stop(service.pid)
    message = str(excinfo.value)
    assert "registry-anonymous: exited" in message
    assert "address already in use" in message


def test_up_refuses_a_directory_that_holds_an_environment(tmp_path):
    (tmp_path / env.STATE_FILE).write_text("{}")
    with pytest.raises(TestEnvError, match=r"testenv down"):
        env.up(tmp_path)


def test_status_of_a_missing_environment_says_how_to_start_one(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "conveyor.testing", "status", "--dir", str(tmp_path / "none")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "scripts/testenv up" in result.stderr
