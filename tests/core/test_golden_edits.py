"""Golden directories: every case's ``original/`` edited as its ``spec.json`` says is ``expected/``.

Files are compared as bytes, so a changed quote, blank, comment or line ending anywhere fails.
"""

import json
from pathlib import Path

import pytest

from conveyor.core.edits import (
    ImageUpdate,
    apply_image_updates,
    remove_annotation,
    set_annotation,
)

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "spec.json").is_file())


def read_tree(root: Path) -> dict[str, str]:
    # Decode without newline translation: CRLF cases must reach the core as CRLF.
    return {
        p.relative_to(root).as_posix(): p.read_bytes().decode("utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_there_are_enough_golden_cases():
    assert len(CASES) >= 12


@pytest.mark.parametrize("case", CASES)
def test_golden_case(case: str):
    spec = json.loads((GOLDEN / case / "spec.json").read_text())
    original = read_tree(GOLDEN / case / "original")
    expected = read_tree(GOLDEN / case / "expected")
    assert original.keys() == expected.keys()
    if "annotation" in spec:
        edit = spec["annotation"]
        text = original[edit["file"]]
        if edit["value"] is None:
            new_text = remove_annotation(text, edit["workload"], key=edit["key"])
        else:
            new_text = set_annotation(text, edit["workload"], key=edit["key"], value=edit["value"])
        changed = {edit["file"]: new_text}
    else:
        updates = [
            ImageUpdate(
                repository=u["repository"],
                tag=u["tag"],
                setter_policies=frozenset(u.get("setter_policies", ())),
            )
            for u in spec["image_updates"]
        ]
        result = apply_image_updates(original, updates, workloads=spec.get("workloads"))
        assert result.problems == ()
        changed = dict(result.changed_files)
        # Only files that really differ are returned, and the records say what changed.
        assert set(changed) == {p for p in original if original[p] != expected[p]}
        if "changes" in spec:
            records = [
                {
                    "path": c.path,
                    "workload_id": c.workload_id,
                    "container": c.container,
                    "old_value": c.old_value,
                    "new_value": c.new_value,
                    **({"setter_policy": c.setter_policy} if c.setter_policy else {}),
                }
                for c in result.changes
            ]
            assert records == spec["changes"]
    produced = {**original, **changed}
    for path in expected:
        assert produced[path].encode("utf-8") == expected[path].encode("utf-8"), path
