from conveyor.core.sync.loading import load_manifests
from conveyor.core.sync.objects import ObjectRef
from conveyor.core.sync.ordering import Stage, order_into_stages, prune_order, stage_of


def ref(api_version: str, kind: str, name: str = "x", namespace: str = "ns") -> ObjectRef:
    return ObjectRef(api_version, kind, namespace, name)


def test_kinds_map_to_their_stage():
    assert stage_of(ref("v1", "Namespace", namespace="")) is Stage.FOUNDATION
    assert stage_of(ref("apiextensions.k8s.io/v1", "CustomResourceDefinition")) is Stage.FOUNDATION
    assert stage_of(ref("rbac.authorization.k8s.io/v1", "ClusterRole")) is Stage.CONFIG
    assert stage_of(ref("v1", "ConfigMap")) is Stage.CONFIG
    assert stage_of(ref("v1", "Service")) is Stage.CONFIG
    assert stage_of(ref("apps/v1", "Deployment")) is Stage.WORKLOADS
    assert stage_of(ref("batch/v1", "Job")) is Stage.WORKLOADS
    assert stage_of(ref("example.com/v1", "Widget")) is Stage.CUSTOM
    # An unfamiliar kind in a built-in group is not a custom resource.
    assert stage_of(ref("storage.k8s.io/v1", "CSIDriver")) is Stage.CONFIG


def test_stages_come_out_in_dependency_order_whatever_the_file_order():
    texts = {
        "0.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
        "1.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
        "2.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n",
        "3.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n",
        "4.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    }
    stages = order_into_stages(load_manifests(texts).manifests)
    assert [(stage, [m.ref.name for m in items]) for stage, items in stages] == [
        (Stage.FOUNDATION, ["n"]),
        (Stage.CONFIG, ["s", "c"]),
        (Stage.WORKLOADS, ["d"]),
        (Stage.CUSTOM, ["w"]),
    ]


def test_prune_order_reverses_the_stages():
    refs = [
        ref("v1", "Namespace", "n", ""),
        ref("apps/v1", "Deployment", "d"),
        ref("example.com/v1", "Widget", "w"),
        ref("v1", "ConfigMap", "c"),
    ]
    assert [r.kind for r in prune_order(refs)] == ["Widget", "Deployment", "ConfigMap", "Namespace"]
