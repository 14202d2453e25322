"""Whether a release's commit reached its workloads, judged from the sync marker."""

import pytest

from conveyor.core.release_applied import synced_revision, unapplied_detail, unapplied_reason
from conveyor.core.release_history import HistoryKind
from conveyor.core.sync.objects import ObjectRef
from conveyor.core.sync.record import (
    Action,
    ObjectResult,
    Outcome,
    Refusal,
    SyncFailure,
    SyncMarker,
)
from tests.core.release_samples import deployment, workloads_of

COMMIT = "c0ffee" * 6 + "abcd"
OLDER = "01d" * 13 + "a"
FILES = {"apps/web.yaml": deployment("web"), "apps/api.yaml": deployment("api")}
WORKLOADS = workloads_of(FILES)
WEB = next(w for w in WORKLOADS if w.id == "shop:deployment/web")
WEB_REF = ObjectRef("apps/v1", "Deployment", "shop", "web")
API_REF = ObjectRef("apps/v1", "Deployment", "shop", "api")


def marker(
    outcome=Outcome.SUCCEEDED, *, revision=COMMIT, results=(), failures=(), refusal=None
) -> SyncMarker:
    return SyncMarker(
        name="default",
        revision=revision,
        time="2024-05-01T10:00:00+00:00",
        outcome=outcome,
        results=tuple(results),
        failures=tuple(failures),
        refusal=refusal,
    )


def reason(synced: SyncMarker, *, contains: bool = True, workloads=(WEB,)) -> str | None:
    return unapplied_reason(
        synced,
        commit=COMMIT,
        contains_commit=contains,
        workloads=workloads,
        default_namespace="default",
    )


def test_an_applied_commit_has_no_reason():
    synced = marker(
        results=[ObjectResult(WEB_REF, Action.CONFIGURED), ObjectResult(API_REF, Action.UNCHANGED)]
    )
    assert reason(synced) is None


def test_a_refused_commit_says_why_and_what_to_do():
    refusal = Refusal("unsigned", "no signature", applied_revision=OLDER)
    refused = marker(Outcome.REFUSED, refusal=refusal)
    assert synced_revision(refused) == OLDER

    why = reason(refused, contains=False)

    assert why is not None
    assert why.startswith(f"the sync refused commit {COMMIT[:12]}: signature unsigned")
    assert f"the cluster still runs {OLDER[:12]}" in why
    assert "sign the branch head" in why


def test_a_refused_later_head_names_both_commits():
    later = "be11" * 10
    refused = marker(Outcome.REFUSED, revision=later, refusal=Refusal("bad", "unknown key"))
    why = reason(refused, contains=False)
    assert why is not None
    assert f"commit {later[:12]} (it holds {COMMIT[:12]})" in why
    assert "nothing from this repo was applied yet" in why


def test_a_refused_later_head_after_the_commit_was_applied_is_not_a_problem():
    refusal = Refusal("unsigned", "no signature", applied_revision=COMMIT)
    assert reason(marker(Outcome.REFUSED, revision="be11" * 10, refusal=refusal)) is None


def test_a_sync_at_a_revision_without_the_commit_did_not_apply_it():
    why = reason(
        marker(revision=OLDER, results=[ObjectResult(WEB_REF, Action.UNCHANGED)]), contains=False
    )
    assert why is not None and "does not contain" in why and COMMIT[:12] in why


def test_a_sync_that_failed_outright_lists_its_failures():
    failures = [SyncFailure(f"apps/f{i}.yaml", 0, "rejected") for i in range(5)]
    why = reason(marker(Outcome.FAILED, failures=failures))
    assert why is not None
    assert "applied nothing" in why and "apps/f0.yaml (document 0): rejected" in why
    assert "and 2 more" in why


def test_a_failed_object_of_a_changed_workload_is_named():
    results = [
        ObjectResult(WEB_REF, Action.FAILED, "apps/web.yaml", 0, reason="admission denied"),
        ObjectResult(API_REF, Action.CONFIGURED),
    ]
    why = reason(marker(Outcome.PARTIAL, results=results))
    assert why is not None and "shop:deployment/web: admission denied" in why


def test_a_failure_elsewhere_does_not_hold_up_the_release():
    results = [ObjectResult(WEB_REF, Action.CONFIGURED), ObjectResult(API_REF, Action.FAILED)]
    assert reason(marker(Outcome.PARTIAL, results=results)) is None


def test_a_workload_whose_file_could_not_be_read_is_named_with_the_reason():
    failures = [SyncFailure("apps/web.yaml", 0, "mapping values are not allowed here")]
    results = [ObjectResult(API_REF, Action.UNCHANGED)]
    why = reason(marker(Outcome.PARTIAL, results=results, failures=failures))
    assert why is not None
    assert "its file apps/web.yaml could not be read: mapping values" in why


def test_a_workload_missing_from_the_results_is_not_called_applied():
    why = reason(marker(results=[ObjectResult(API_REF, Action.UNCHANGED)]))
    assert why is not None and "did not apply it" in why


@pytest.mark.parametrize("kind", [HistoryKind.RELEASE, HistoryKind.ROLLBACK])
def test_a_release_or_rollback_not_applied_is_described_by_the_reason_alone(kind):
    why = reason(marker(Outcome.FAILED, failures=[SyncFailure("apps/web.yaml", 0, "rejected")]))
    assert why is not None
    assert unapplied_detail(kind, why, commit=COMMIT) == why


@pytest.mark.parametrize(
    "kind",
    [
        HistoryKind.LOCK,
        HistoryKind.UNLOCK,
        HistoryKind.AUTOMATE,
        HistoryKind.DEAUTOMATE,
        HistoryKind.POLICY,
    ],
)
def test_a_policy_change_not_applied_says_it_still_holds_in_git(kind):
    refused = marker(Outcome.REFUSED, refusal=Refusal("unsigned", "no signature"))
    why = reason(refused, contains=False)
    assert why is not None

    detail = unapplied_detail(kind, why, commit=COMMIT)

    assert detail.startswith(why)
    assert f"The {kind.value} itself holds: commit {COMMIT[:12]} is in git" in detail
    assert "until a sync applies it" in detail
