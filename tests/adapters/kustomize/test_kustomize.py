import pytest
import yaml

from conveyor.adapters import kustomize

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
def anyio_backend():
    return "asyncio"


def write_kustomization(directory, text):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "kustomization.yaml").write_text(text)
    (directory / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n"
    )


async def test_build_renders_the_kustomization(testenv, tmp_path):
    write_kustomization(tmp_path / "app", "namePrefix: prod-\nresources: [cm.yaml]\n")
    assert kustomize.is_kustomization(tmp_path / "app")
    output = await kustomize.build(tmp_path / "app", binary=testenv.cluster.kustomize)
    (document,) = yaml.safe_load_all(output)
    assert document["metadata"]["name"] == "prod-settings"


async def test_a_broken_kustomization_fails_with_kustomizes_explanation(testenv, tmp_path):
    write_kustomization(tmp_path / "app", "resources: [missing.yaml]\n")
    with pytest.raises(kustomize.BuildFailed, match=r"missing\.yaml") as failure:
        await kustomize.build(tmp_path / "app", binary=testenv.cluster.kustomize)
    assert "missing.yaml" in failure.value.stderr


def test_a_missing_binary_says_how_to_provide_one(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CONVEYOR_KUSTOMIZE", raising=False)
    monkeypatch.delenv("CONVEYOR_K8S_BIN", raising=False)
    with pytest.raises(kustomize.KustomizeMissing, match="--kustomize"):
        kustomize.find_kustomize(tmp_path / "nope")
