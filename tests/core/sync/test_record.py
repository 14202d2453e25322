from conveyor.core.sync.drift import FieldChange
from conveyor.core.sync.objects import ObjectRef
from conveyor.core.sync.record import (
    Action,
    ObjectResult,
    Outcome,
    SyncFailure,
    SyncMarker,
    count_actions,
    outcome_of,
)

WEB = ObjectRef("apps/v1", "Deployment", "ns", "web")


def test_marker_round_trips_through_its_data_form():
    marker = SyncMarker(
        name="prod",
        revision="abc123",
        time="2025-01-01T00:00:00+00:00",
        outcome=Outcome.PARTIAL,
        results=(
            ObjectResult(
                WEB,
                Action.CONFIGURED,
                "apps/web.yaml",
                0,
                "drift reverted",
                health="Healthy",
                health_reason="1 of 1 replicas available",
                drift=(FieldChange("spec.replicas", 1, 3),),
            ),
        ),
        failures=(SyncFailure("bad.yaml", 2, "not valid YAML: x", object=""),),
    )
    data = marker.to_data()
    assert data["counts"] == {"configured": 1}
    assert data["objects"][0]["drift"] == [{"path": "spec.replicas", "desired": 1, "live": 3}]
    assert SyncMarker.from_data(data) == SyncMarker(
        **{**marker.__dict__, "counts": {"configured": 1}}
    )


def test_outcome_is_partial_when_some_failed_and_others_applied():
    applied = ObjectResult(WEB, Action.CREATED)
    broken = ObjectResult(WEB, Action.FAILED)
    failure = SyncFailure("f.yaml", 0, "rejected")
    assert outcome_of((applied,), ()) is Outcome.SUCCEEDED
    assert outcome_of((applied, broken), (failure,)) is Outcome.PARTIAL
    assert outcome_of((broken,), (failure,)) is Outcome.FAILED
    assert count_actions((applied, broken, applied)) == {"created": 2, "failed": 1}


def test_failure_text_names_file_document_object_and_reason():
    failure = SyncFailure("a.yaml", 3, "rejected: bad port", object="Service ns/web")
    assert str(failure) == "a.yaml (document 3) Service ns/web: rejected: bad port"
