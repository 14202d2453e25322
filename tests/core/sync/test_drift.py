from conveyor.core.sync.drift import REDACTED, FieldChange, diff_objects, redacted


def deployment(image: str, *, replicas: int = 1, extra_container: bool = False) -> dict:
    containers = [{"name": "app", "image": image, "ports": [{"containerPort": 80}]}]
    if extra_container:
        containers.append({"name": "sidecar", "image": "envoy"})
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"}},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": containers}}},
    }


def with_server_fields(body: dict) -> dict:
    live = {**body, "status": {"replicas": 3}}
    live["metadata"] = {**body["metadata"], "resourceVersion": "9", "uid": "u", "generation": 4}
    live["spec"] = {**body["spec"], "strategy": {"type": "RollingUpdate"}}
    return live


def test_no_drift_when_live_only_adds_defaults_and_bookkeeping():
    desired = deployment("nginx:1")
    assert diff_objects(desired, with_server_fields(desired)) == ()


def test_a_changed_image_is_reported_with_its_path_by_container_name():
    changes = diff_objects(deployment("nginx:1"), with_server_fields(deployment("nginx:2")))
    assert changes == (
        FieldChange("spec.template.spec.containers[app].image", "nginx:1", "nginx:2"),
    )


def test_full_comparison_reports_fields_only_live_has():
    desired = deployment("nginx:1")
    live = deployment("nginx:1", extra_container=True)
    assert diff_objects(desired, live) == ()
    (change,) = diff_objects(desired, live, subset=False)
    assert change.path == "spec.template.spec.containers[sidecar]"
    assert change.desired is None


def test_status_and_volatile_metadata_are_never_drift_even_in_full_comparison():
    desired = deployment("nginx:1")
    live = with_server_fields(desired)
    live["spec"] = desired["spec"]
    assert diff_objects(desired, live, subset=False) == ()


def test_numbers_given_as_strings_and_empty_values_are_not_drift():
    assert diff_objects({"spec": {"port": "80", "opts": {}}}, {"spec": {"port": 80}}) == ()
    assert diff_objects({"spec": {"replicas": 2}}, {"spec": {"replicas": 3}}) == (
        FieldChange("spec.replicas", 2, 3),
    )


def test_lists_without_a_merge_key_compare_by_position():
    assert diff_objects({"args": ["a", "b"]}, {"args": ["a", "c"]}) == (
        FieldChange("args[1]", "b", "c"),
    )
    assert diff_objects({"args": ["a"]}, {"args": ["a", "b"]}) == (
        FieldChange("args", ["a"], ["a", "b"]),
    )


def test_redacted_changes_keep_paths_and_hide_values():
    changes = diff_objects({"data": {"password": "aGk="}}, {"data": {"password": "eW8="}})
    assert [(c.path, c.desired, c.live) for c in redacted(changes)] == [
        ("data.password", REDACTED, REDACTED)
    ]
