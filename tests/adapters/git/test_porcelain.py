"""Reading ``git push --porcelain``: pure."""

import pytest

from conveyor.adapters.git.porcelain import PushVerdict, parse_push_porcelain, push_verdict

MAIN = "refs/heads/main"


def porcelain(line: str) -> str:
    return f"To ssh://127.0.0.1/r.git\n{line}\nDone\n"


@pytest.mark.parametrize(
    ("line", "verdict"),
    [
        (" \tHEAD:refs/heads/main\t1a2b3c4..5d6e7f8", PushVerdict.ACCEPTED),
        ("*\tHEAD:refs/heads/main\t[new branch]", PushVerdict.ACCEPTED),
        ("=\tHEAD:refs/heads/main\t[up to date]", PushVerdict.UP_TO_DATE),
        ("!\tHEAD:refs/heads/main\t[rejected] (fetch first)", PushVerdict.REMOTE_MOVED),
        ("!\tHEAD:refs/heads/main\t[rejected] (non-fast-forward)", PushVerdict.REMOTE_MOVED),
        ("!\tHEAD:refs/heads/main\t[rejected] (stale info)", PushVerdict.REMOTE_MOVED),
        (
            "!\tHEAD:refs/heads/main\t[remote rejected] (cannot lock ref 'refs/heads/main':"
            " is at 1a2b but expected 3c4d)",
            PushVerdict.REMOTE_MOVED,
        ),
        (
            "!\tHEAD:refs/heads/main\t[remote rejected] (pre-receive hook declined)",
            PushVerdict.REFUSED,
        ),
        (
            "!\tHEAD:refs/heads/main\t[remote rejected] (protected branch hook declined)",
            PushVerdict.REFUSED,
        ),
        (
            "!\tHEAD:refs/heads/main\t[remote failure] (remote failed to report status)",
            PushVerdict.REFUSED,
        ),
        ("!\tHEAD:refs/heads/main\t[rejected] (already exists)", PushVerdict.REFUSED),
        ("+\tHEAD:refs/heads/main\t1a2b3c4...5d6e7f8 (forced update)", PushVerdict.REFUSED),
    ],
)
def test_verdicts(line, verdict):
    assert push_verdict(parse_push_porcelain(porcelain(line)), MAIN) is verdict


def test_no_ref_line_is_unknown():
    assert push_verdict(parse_push_porcelain(""), MAIN) is PushVerdict.UNKNOWN


def test_only_the_asked_ref_counts():
    updates = parse_push_porcelain(
        "To x\n!\tHEAD:refs/heads/other\t[rejected] (fetch first)\n"
        " \tHEAD:refs/heads/main\taaa..bbb\nDone\n"
    )
    assert [u.destination for u in updates] == ["refs/heads/other", MAIN]
    assert push_verdict(updates, MAIN) is PushVerdict.ACCEPTED
    assert push_verdict(updates, "refs/heads/other") is PushVerdict.REMOTE_MOVED


def test_ref_update_fields_and_reason():
    (update,) = parse_push_porcelain(porcelain("!\tHEAD:refs/heads/main\t[rejected] (fetch first)"))
    assert (update.flag, update.source, update.destination) == ("!", "HEAD", MAIN)
    assert update.reason == "fetch first"
