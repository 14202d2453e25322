"""50 concurrent release and lock/unlock requests through the API, over a real ReleaseManager (git
server, control plane): each is answered with its own commit, each is in git exactly once, the
branch only ever moves forward, and every YAML file at the head still parses.

The mix is chosen so that no request can be a no-op whatever order the server takes them in:
releases of distinct tags go to ``web`` and ``api`` (never locked), and each lock or unlock goes to
its own worker Deployment, seeded unlocked (to be locked) or locked (to be unlocked).
"""

import asyncio

import httpx
import pytest

from conveyor.core.workload_settings import LOCKED_ANNOTATION
from tests.api.test_releases import TOKEN, target, url  # noqa: F401  (fixtures used below)
from tests.daemon.release_repo import RepoReader, deployment_text, write_seed

pytestmark = pytest.mark.integration

RELEASES = 25
TOGGLES = 25


def release_workload(number: int) -> str:
    return "web" if number % 2 else "api"


def worker(number: int) -> str:
    return f"worker-{number:02d}"


def starts_locked(number: int) -> bool:
    return number % 2 == 0


def locked_deployment_text(name: str, namespace: str, image: str) -> str:
    plain = deployment_text(name, namespace, image)
    header = f"metadata:\n  name: {name}\n"
    annotations = f'  annotations:\n    {LOCKED_ANNOTATION}: "true"\n'
    return plain.replace(header, header + annotations, 1)


@pytest.fixture
def repo(config_repo, tmp_path, target):  # noqa: F811  (pytest passes the imported fixture)
    """The release tests' seed plus one worker Deployment per lock toggle; the bare repo keeps a
    reflog so every update of main can be checked to be a fast-forward."""
    seed = write_seed(tmp_path / "seed", target)
    for number in range(1, TOGGLES + 1):
        write = locked_deployment_text if starts_locked(number) else deployment_text
        name = worker(number)
        image = f"registry.invalid/{name}:1.0.0"
        (seed / "apps" / f"{name}.yaml").write_text(write(name, target, image))
    created = config_repo(seed)
    RepoReader(created.path).git("config", "core.logAllRefUpdates", "always")
    return created


def requests(target):  # noqa: F811  (the namespace name, as the fixture gives it)
    """(route, body) for every request; each body carries its own message."""
    planned = []
    for number in range(1, RELEASES + 1):
        name = release_workload(number)
        image = f"registry.invalid/{'app' if name == 'web' else 'api'}:1.0.{number}"
        message = f"concurrent release {number} of {name}"
        body = {"workloads": [f"{target}:deployment/{name}"], "image": image, "message": message}
        planned.append(("release", {**body, "user": "ci"}))
    for number in range(1, TOGGLES + 1):
        action = "unlock" if starts_locked(number) else "lock"
        message = f"concurrent {action} {number} of {worker(number)}"
        body = {"workloads": [f"{target}:deployment/{worker(number)}"], "message": message}
        planned.append(("policy", {**body, "action": action, "user": "ops"}))
    return planned


async def send_all(url, planned):  # noqa: F811
    headers = {"Authorization": f"Bearer {TOKEN}"}
    # Generous: the manager serializes writes to one repo, so the last answer waits for all.
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=600.0) as client:
        answers = await asyncio.gather(
            *(client.post(f"/api/v1/{route}", json=body) for route, body in planned)
        )
        history = await client.get("/api/v1/history", params={"limit": 1000})
        workloads = await client.get("/api/v1/workloads")
    return answers, history, workloads


def test_fifty_concurrent_writes_are_each_one_commit_on_a_linear_history(url, repo, target):  # noqa: F811
    reader = RepoReader(repo.path)
    seed = reader.head()
    planned = requests(target)
    messages = [body["message"] for _, body in planned]

    answers, history, workloads = asyncio.run(send_all(url, planned))

    assert [a.status_code for a in answers] == [200] * len(planned), [
        a.text for a in answers if a.status_code != 200
    ]
    operations = [a.json() for a in answers]
    commits = [op["commit"] for op in operations]
    assert all(commits), [op["message"] for op in operations if not op["commit"]]
    assert len(set(commits)) == len(planned)

    # Every answered commit is on main (nothing was overwritten), and main is exactly those
    # commits on top of the seed, with no merges.
    revisions = reader.revisions()
    assert set(revisions) == {*commits, seed}
    assert reader.git("rev-list", "--first-parent", "main").split() == revisions
    assert reader.git("rev-list", "--merges", "main").split() == []
    assert revisions[-1] == seed

    # Each message is in exactly one commit, and it is the commit its request was answered with.
    bodies = {revision: reader.message(revision) for revision in revisions}
    for message, commit in zip(messages, commits, strict=True):
        assert [r for r, text in bodies.items() if message in text] == [commit]

    # Every update of main the server recorded (its reflog, newest first) moved it forward by one
    # commit from where it was: no force-push, no lost commit.
    moves = reader.git("reflog", "show", "--format=%H", "main").split()
    assert moves == revisions[: len(moves)] and len(moves) == len(planned)
    for newer in moves:
        assert len(reader.parents(newer)) == 1

    reader.all_yaml_loads()

    assert history.status_code == 200
    recorded = history.json()
    assert sorted(e["message"] for e in recorded) == sorted(messages)
    assert {e["commit"] for e in recorded} == set(commits)
    assert {e["result"] for e in recorded} == {"succeeded"}

    assert workloads.status_code == 200
    locked = {w["id"]: w["locked"] for w in workloads.json()}
    for number in range(1, TOGGLES + 1):
        assert locked[f"{target}:deployment/{worker(number)}"] is not starts_locked(number)
    # The repo ends on the web image of whichever web release was committed last.
    images = {w["id"]: w["containers"][0]["image"] for w in workloads.json()}
    web_images = {
        commit: body["image"]
        for (route, body), commit in zip(planned, commits, strict=True)
        if route == "release" and body["workloads"] == [f"{target}:deployment/web"]
    }
    last_web = next(revision for revision in revisions if revision in web_images)
    assert images[f"{target}:deployment/web"] == web_images[last_web]
