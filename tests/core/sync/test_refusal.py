from conveyor.core.sync.objects import ObjectRef
from conveyor.core.sync.record import Action, ObjectResult, Outcome, Refusal, SyncMarker
from conveyor.core.sync.refusal import applied_revision, describe, refused_marker


def applied(revision: str, outcome: Outcome = Outcome.SUCCEEDED) -> SyncMarker:
    result = ObjectResult(ObjectRef("v1", "ConfigMap", "ns", "a"), Action.CREATED)
    return SyncMarker("web", revision, "2024-01-01T00:00:00+00:00", outcome, results=(result,))


def test_a_refusal_keeps_the_revision_that_still_runs():
    marker = refused_marker(
        applied("good1"),
        name="web",
        revision="bad2",
        time="t",
        status="unsigned",
        detail="the commit is not signed",
    )
    assert (marker.revision, marker.outcome) == ("bad2", Outcome.REFUSED)
    assert marker.results == () and marker.failures == ()
    assert marker.refusal == Refusal("unsigned", "the commit is not signed", "", "good1")


def test_a_refusal_after_a_refusal_still_names_the_last_applied_revision():
    first = refused_marker(
        applied("good1"), name="web", revision="bad2", time="t", status="bad", detail="x"
    )
    second = refused_marker(
        first, name="web", revision="bad3", time="t", status="bad", detail="y", signer="eve"
    )
    assert applied_revision(second) == "good1"
    assert second.refusal is not None and second.refusal.signer == "eve"


def test_nothing_was_applied_before_the_first_sync_or_after_a_dry_run():
    assert applied_revision(None) == ""
    dry = SyncMarker("web", "r1", "t", Outcome.SUCCEEDED, dry_run=True)
    assert applied_revision(dry) == ""
    assert applied_revision(applied("r0", Outcome.PARTIAL)) == "r0"


def test_a_refused_marker_round_trips_through_its_data_form():
    marker = refused_marker(
        applied("good1"),
        name="web",
        revision="bad2",
        time="t",
        status="bad",
        detail="not signed by an allowed signer",
        signer="mallory@example.invalid",
    )
    data = marker.to_data()
    assert data["outcome"] == "refused"
    assert data["refusal"] == {
        "status": "bad",
        "signer": "mallory@example.invalid",
        "detail": "not signed by an allowed signer",
        "appliedRevision": "good1",
    }
    assert SyncMarker.from_data(data) == marker


def test_markers_written_before_refusals_existed_read_unchanged():
    old = {
        "name": "web",
        "revision": "r1",
        "time": "t",
        "outcome": "succeeded",
        "dryRun": False,
        "counts": {"created": 1},
        "failures": [],
        "objects": [],
    }
    marker = SyncMarker.from_data(old)
    assert marker.refusal is None
    assert "refusal" not in marker.to_data()
    assert marker.to_data() == old


def test_the_description_says_what_was_refused_why_and_what_still_runs():
    marker = refused_marker(
        applied("good1"),
        name="web",
        revision="bad2",
        time="t",
        status="unsigned",
        detail="the commit is not signed",
    )
    assert describe(marker) == (
        "refused revision bad2: signature unsigned: the commit is not signed;"
        " nothing was applied, the cluster still runs good1"
    )
    first = refused_marker(None, name="web", revision="b", time="t", status="bad", detail="d")
    assert describe(first).endswith("nothing from this repo was ever applied")
    assert describe(applied("good1")) == ""
