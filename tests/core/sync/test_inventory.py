from conveyor.core.sync.inventory import (
    Inventory,
    InventoryEntry,
    fields_fingerprint,
    plan_prune,
    prune_allowed,
)
from conveyor.core.sync.objects import ObjectRef


def ref(name: str, kind: str = "ConfigMap", namespace: str = "ns") -> ObjectRef:
    api_version = "apps/v1" if kind == "Deployment" else "v1"
    return ObjectRef(api_version, kind, namespace, name)


def live(*managers: tuple[str, str, dict], annotations: dict | None = None) -> dict:
    return {
        "metadata": {
            "annotations": annotations or {},
            "managedFields": [
                {"manager": m, "operation": op, "fieldsType": "FieldsV1", "fieldsV1": f}
                for m, op, f in managers
            ],
        }
    }


def test_prune_plans_only_inventory_entries_that_left_the_repo():
    inventory = Inventory.of(InventoryEntry(ref(n)) for n in ("a", "b", "c"))
    assert plan_prune(inventory, [ref("a"), ref("z")]) == [ref("b"), ref("c")]


def test_prune_keeps_ignored_objects_and_orders_namespaces_last():
    refs = [ref("ns", "Namespace", ""), ref("d", "Deployment"), ref("ignored")]
    inventory = Inventory.of(InventoryEntry(r) for r in refs)
    planned = plan_prune(inventory, [], kept=[ref("ignored")])
    assert [r.kind for r in planned] == ["Deployment", "Namespace"]


def test_inventory_round_trips_through_its_data_form():
    inventory = Inventory.of(
        [InventoryEntry(ref("a"), "d1", "f1"), InventoryEntry(ref("b", "Deployment"), "d2", "")]
    )
    again = Inventory.from_data(inventory.to_data())
    assert again == inventory
    assert again.get(ref("a")) == InventoryEntry(ref("a"), "d1", "f1")
    assert ref("a") in again and ref("q") not in again


def test_the_same_object_under_another_version_is_the_same_entry():
    inventory = Inventory.of([InventoryEntry(ObjectRef("autoscaling/v1", "X", "ns", "h"))])
    assert ObjectRef("autoscaling/v2", "X", "ns", "h") in inventory


def test_fields_fingerprint_changes_when_conveyor_loses_a_field():
    owned = {"f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"app"}': {}}}}}}
    before = live(("conveyor", "Apply", owned), ("kube-controller-manager", "Update", {}))
    after = live(("conveyor", "Apply", {"f:spec": {}}), ("kubectl-set", "Update", owned))
    status_only = live(
        ("conveyor", "Apply", owned), ("kube-controller-manager", "Update", {"f:status": {}})
    )
    assert fields_fingerprint(before) == fields_fingerprint(status_only) != ""
    assert fields_fingerprint(before) != fields_fingerprint(after)
    assert fields_fingerprint(live(("kubectl", "Update", owned))) == ""


def test_prune_is_refused_by_annotation_or_when_conveyor_does_not_manage_the_object():
    ours = ("conveyor", "Apply", {})
    assert prune_allowed(live(ours)) is None
    assert "prune: disabled" in str(
        prune_allowed(live(ours, annotations={"conveyor.dev/prune": "disabled"}))
    )
    assert "not managed by conveyor" in str(prune_allowed(live(("kubectl", "Update", {}))))
