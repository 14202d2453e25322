"""Repository names and Docker Hub's rules (pure)."""

import pytest

from conveyor.adapters.registry import InvalidRepositoryName, RepositoryName
from conveyor.adapters.registry.names import api_host, canonical_host, host_of_server_url


@pytest.mark.parametrize(
    ("written", "host", "path"),
    [
        ("nginx", "docker.io", "library/nginx"),
        ("docker.io/nginx", "docker.io", "library/nginx"),
        ("index.docker.io/library/nginx", "docker.io", "library/nginx"),
        ("bitnami/redis", "docker.io", "bitnami/redis"),
        ("ghcr.io/org/team/app", "ghcr.io", "org/team/app"),
        ("quay.io/prometheus/node-exporter", "quay.io", "prometheus/node-exporter"),
        ("127.0.0.1:5000/app", "127.0.0.1:5000", "app"),
        ("localhost/app", "localhost", "app"),
        ("Registry.Example.com/a_b/c.d__e", "registry.example.com", "a_b/c.d__e"),
    ],
)
def test_a_repository_name_is_read_the_way_docker_pull_reads_it(written, host, path):
    name = RepositoryName.parse(written)
    assert (name.host, name.path) == (host, path)
    assert str(name) == f"{host}/{path}"


def test_docker_hub_is_served_by_its_api_host_and_other_hosts_by_themselves():
    assert RepositoryName.parse("nginx").api_host == "registry-1.docker.io"
    assert RepositoryName.parse("ghcr.io/org/app").api_host == "ghcr.io"
    assert api_host("index.docker.io") == "registry-1.docker.io"
    assert canonical_host("registry-1.docker.io") == "docker.io"


def test_the_pull_scope_names_the_repository_path():
    assert RepositoryName.parse("nginx").pull_scope == "repository:library/nginx:pull"


@pytest.mark.parametrize("written", ["nginx:1.25", "App/Upper", "repo@sha256:abc", "a//b", ""])
def test_names_with_tags_digests_or_uppercase_paths_are_refused(written):
    with pytest.raises(InvalidRepositoryName, match="not a repository name"):
        RepositoryName.parse(written)


@pytest.mark.parametrize(
    ("server", "host"),
    [
        ("https://index.docker.io/v1/", "docker.io"),
        ("quay.io", "quay.io"),
        ("https://ghcr.io", "ghcr.io"),
        ("http://127.0.0.1:5000/v2/", "127.0.0.1:5000"),
    ],
)
def test_docker_config_server_keys_map_to_canonical_hosts(server, host):
    assert host_of_server_url(server) == host
