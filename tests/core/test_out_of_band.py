"""Finding out-of-band image changes, deciding per workload, and the adopting edit and message."""

from typing import Any

from conveyor.core.commit_message import parse_change_trailers
from conveyor.core.out_of_band import (
    OUT_OF_BAND_ANNOTATION,
    UNKNOWN_CHANGER,
    OutOfBandChange,
    OutOfBandMode,
    adopt_message,
    apply_adoption,
    find_out_of_band,
    image_manager,
    out_of_band_mode,
)
from conveyor.core.release_history import HistoryKind
from conveyor.core.release_message import parse_operation_kind, parse_operation_user
from tests.core.release_samples import deployment, workloads_of

OWN = "conveyor"


def live_deployment(
    images: dict[str, str],
    *,
    managers: dict[str, str] | None = None,
    kind: str = "Deployment",
    applied: bool = True,
) -> dict[str, Any]:
    """A live object; ``managers`` says which field manager owns each container's image, and
    ``applied`` whether conveyor applied it (owning at least its labels)."""
    managed: list[dict[str, Any]] = []
    if applied:
        labels = {"f:metadata": {"f:labels": {"f:app": {}}}}
        managed.append({"manager": OWN, "operation": "Apply", "fieldsV1": labels})
    for container, manager in (managers or {}).items():
        key = 'k:{"name":"' + container + '"}'
        managed.append(
            {
                "manager": manager,
                "operation": "Apply" if manager == OWN else "Update",
                "fieldsV1": {
                    "f:spec": {"f:template": {"f:spec": {"f:containers": {key: {"f:image": {}}}}}}
                },
            }
        )
    containers = [{"name": name, "image": image} for name, image in images.items()]
    return {
        "kind": kind,
        "metadata": {"managedFields": managed},
        "spec": {"template": {"spec": {"containers": containers}}},
    }


def test_the_mode_defaults_to_revert_and_only_adopt_adopts():
    assert out_of_band_mode({}) is OutOfBandMode.REVERT
    assert out_of_band_mode({OUT_OF_BAND_ANNOTATION: "adopt"}) is OutOfBandMode.ADOPT
    assert out_of_band_mode({OUT_OF_BAND_ANNOTATION: " Adopt "}) is OutOfBandMode.ADOPT
    assert out_of_band_mode({OUT_OF_BAND_ANNOTATION: "revert"}) is OutOfBandMode.REVERT
    assert out_of_band_mode({OUT_OF_BAND_ANNOTATION: "adpot"}) is OutOfBandMode.REVERT


def test_image_manager_reads_the_owner_of_the_containers_image():
    live = live_deployment(
        {"app": "a:1", "sidecar": "b:1"}, managers={"app": "kubectl-set", "sidecar": OWN}
    )
    assert image_manager(live, "app") == "kubectl-set"
    assert image_manager(live, "sidecar") == OWN
    assert image_manager(live, "missing") is None
    assert image_manager(live_deployment({"app": "a:1"}), "app") is None
    assert image_manager(live_deployment({"app": "a:1"}, kind="ConfigMap"), "app") is None


def test_image_manager_skips_subresource_entries():
    live = live_deployment({"app": "a:1"}, managers={"app": "kubectl-set"})
    live["metadata"]["managedFields"][-1]["subresource"] = "scale"
    assert image_manager(live, "app") is None


def test_finds_each_changed_container_with_its_mode_and_changer():
    files = {
        "web.yaml": deployment("web", annotations={OUT_OF_BAND_ANNOTATION: "adopt"}),
        "api.yaml": deployment(
            "api", images={"app": "registry.invalid/api:1.0.0", "proxy": "envoy:1.30"}
        ),
    }
    live = {
        "shop:deployment/web": live_deployment(
            {"app": "registry.invalid/web:1.0.1"}, managers={"app": "kubectl-set"}
        ),
        "shop:deployment/api": live_deployment(
            {"app": "registry.invalid/api:1.0.0", "proxy": "envoy:1.31"}
        ),
    }
    found = find_out_of_band(workloads_of(files), live, own_manager=OWN)
    assert found == (
        OutOfBandChange(
            "shop:deployment/api",
            "api.yaml",
            "proxy",
            "envoy:1.30",
            "envoy:1.31",
            OutOfBandMode.REVERT,
            UNKNOWN_CHANGER,
        ),
        OutOfBandChange(
            "shop:deployment/web",
            "web.yaml",
            "app",
            "registry.invalid/web:1.0.0",
            "registry.invalid/web:1.0.1",
            OutOfBandMode.ADOPT,
            "kubectl-set",
        ),
    )


def test_an_image_conveyor_applied_is_a_pending_commit_not_an_out_of_band_change():
    files = {"web.yaml": deployment("web", images={"app": "registry.invalid/web:2.0.0"})}
    live = {
        "shop:deployment/web": live_deployment(
            {"app": "registry.invalid/web:1.0.0"}, managers={"app": OWN}
        )
    }
    assert find_out_of_band(workloads_of(files), live, own_manager=OWN) == ()


def test_a_workload_conveyor_never_applied_is_not_reported():
    files = {"web.yaml": deployment("web")}
    live = {
        "shop:deployment/web": live_deployment(
            {"app": "registry.invalid/web:0.9.0"},
            managers={"app": "kubectl-client-side-apply"},
            applied=False,
        )
    }
    assert find_out_of_band(workloads_of(files), live, own_manager=OWN) == ()


def test_absent_and_matching_workloads_are_not_reported():
    files = {"web.yaml": deployment("web"), "api.yaml": deployment("api")}
    live = {"shop:deployment/web": live_deployment({"app": "registry.invalid/web:1.0.0"})}
    assert find_out_of_band(workloads_of(files), live, own_manager=OWN) == ()


def change(repo_image: str, live_image: str, *, container: str = "app") -> OutOfBandChange:
    return OutOfBandChange(
        "shop:deployment/web",
        "web.yaml",
        container,
        repo_image,
        live_image,
        OutOfBandMode.ADOPT,
        "kubectl-set",
    )


def test_adoption_is_a_byte_exact_edit_of_the_image():
    files = {"web.yaml": deployment("web"), "api.yaml": deployment("api")}
    texts, adopted = apply_adoption(
        files,
        workloads_of(files),
        [change("registry.invalid/web:1.0.0", "registry.invalid/web:1.0.1")],
    )
    assert texts == {
        "web.yaml": files["web.yaml"].replace(
            "registry.invalid/web:1.0.0  # pinned", "registry.invalid/web:1.0.1  # pinned"
        )
    }
    assert len(adopted) == 1


def test_adoption_leaves_a_container_whose_repo_image_moved_meanwhile():
    files = {"web.yaml": deployment("web", images={"app": "registry.invalid/web:2.0.0"})}
    texts, adopted = apply_adoption(
        files,
        workloads_of(files),
        [change("registry.invalid/web:1.0.0", "registry.invalid/web:1.0.1")],
    )
    assert (texts, adopted) == ({}, ())


def test_the_message_marks_the_commit_as_out_of_band():
    one = change("registry.invalid/web:1.0.0", "registry.invalid/web:1.0.1")
    message = adopt_message([one])
    assert message.splitlines()[0] == (
        "Adopt out-of-band image change of shop:deployment/web: "
        "registry.invalid/web:1.0.0 -> registry.invalid/web:1.0.1"
    )
    assert "Conveyor-Kind: out_of_band" in message.splitlines()
    assert parse_operation_kind(message) is HistoryKind.OUT_OF_BAND
    assert parse_operation_user(message) == "kubectl-set"
    assert parse_change_trailers(message) == (one.released_change(),)


def test_a_message_for_several_containers_lists_each():
    changes = [
        change("a:1", "a:2"),
        change("b:1", "b:2", container="sidecar"),
    ]
    message = adopt_message(changes)
    assert message.splitlines()[0] == ("Adopt 2 out-of-band image changes of shop:deployment/web")
    assert [(c.container, c.new_image) for c in parse_change_trailers(message)] == [
        ("app", "a:2"),
        ("sidecar", "b:2"),
    ]


def test_the_reverting_change_goes_from_the_live_image_back_to_the_repos():
    one = change("a:1", "a:2")
    reverting = one.reverting_change()
    assert (reverting.old_image, reverting.new_image) == ("a:2", "a:1")
