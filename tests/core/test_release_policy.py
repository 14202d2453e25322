"""The annotation edits of lock/unlock/automate/deautomate/policy: only annotations change."""

import pytest

from conveyor.core.release import ReleaseError, WorkloadSelector
from conveyor.core.release_policy import plan_policy_change
from conveyor.core.workloads import scan_manifest
from tests.core.release_samples import deployment, workloads_of

WEB = "shop:deployment/web"
PLAIN = deployment("web")
FLUX_LOCKED = deployment(
    "web", annotations={"fluxcd.io/locked": "true", "fluxcd.io/locked_msg": "old", "team": "a"}
)


def change(text, action, **kwargs):
    files = {"web.yaml": text}
    return plan_policy_change(
        files, workloads_of(files), WorkloadSelector(ids=(WEB,)), action, **kwargs
    )


def settings(text):
    return scan_manifest(text).workloads[0].automation


def test_lock_then_unlock_gives_back_the_original_bytes():
    locked = change(PLAIN, "lock", user="carol", message="incident\n42")
    text = locked.changed_files["web.yaml"]
    assert settings(text).locked and settings(text).lock_reason == "incident 42"
    assert settings(text).locked_by == "carol"
    assert text.startswith(PLAIN.split("spec:")[0].rstrip("\n"))
    assert text.endswith("spec:" + PLAIN.split("spec:", 1)[1])
    unlocked = change(text, "unlock")
    assert unlocked.changed_files["web.yaml"] == PLAIN


def test_unlock_removes_flux_keys_too_and_leaves_other_annotations():
    result = change(FLUX_LOCKED, "unlock")
    text = result.changed_files["web.yaml"]
    assert not settings(text).locked
    assert '    team: "a"\n' in text
    assert {c.key for c in result.changes} == {"fluxcd.io/locked", "fluxcd.io/locked_msg"}


def test_automate_deautomate_and_nothing_to_do():
    automated = change(PLAIN, "automate").changed_files["web.yaml"]
    assert settings(automated).automated
    again = change(automated, "automate")
    assert again.changed_files == {} and "already automated" in again.skipped[0].reason
    assert change(automated, "deautomate").changed_files["web.yaml"] == PLAIN


def test_tag_policy_is_checked_set_and_cleared():
    text = change(PLAIN, "policy", container="app", pattern="semver:^1").changed_files["web.yaml"]
    assert settings(text).tag_policy("app").policy == "semver:^1"
    assert change(text, "policy", container="app").changed_files["web.yaml"] == PLAIN
    with pytest.raises(ReleaseError, match="cannot be used"):
        change(PLAIN, "policy", container="app", pattern="semver:not a range")
    missing = change(PLAIN, "policy", container="nope", pattern="glob:*")
    assert missing.changed_files == {} and "no container 'nope'" in missing.skipped[0].reason
