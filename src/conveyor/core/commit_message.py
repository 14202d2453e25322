"""The commit message of an automation run: a readable subject and body, and trailers to parse.

The message comes from a template in Python's ``string.Template`` syntax (``$name`` or
``${name}``, ``$$`` for a dollar sign); nothing in it is evaluated. The fields:

    subject   `Release app:1.2.4 to 2 workloads`, or `Update images of 3 workloads`
    summary   one line per change: `- shop:deployment/web container web: app:1.2.3 -> app:1.2.4`
    trailers  one `Conveyor-Change:` trailer per change (keep them last, as git trailers go)
    count     the number of changes
    targets   what changed, counted: `2 workloads`, `1 workload and 1 file`
    images    the new images, comma-separated

Each trailer reads ``Conveyor-Change: TARGET DETAIL OLD -> NEW``: TARGET is the workload id
(``ns:kind/name``), or ``path=FILE`` for a value outside any workload (Helm values, a kustomize
``images:`` entry); DETAIL is the container name, or ``setter=NS:NAME`` for a setter-marked value
that is not a container's image. :func:`parse_change_trailers` reads them back.

Errors: :class:`CommitTemplateError` (a ``ValueError``) for a template that cannot be used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from string import Template

from conveyor.core.edits import canonical_repository, split_image

__all__ = [
    "CHANGE_TRAILER",
    "DEFAULT_TEMPLATE",
    "TEMPLATE_FIELDS",
    "CommitTemplateError",
    "ReleasedChange",
    "check_template",
    "commit_subject",
    "parse_change_trailers",
    "render_commit_message",
]

CHANGE_TRAILER = "Conveyor-Change"
DEFAULT_TEMPLATE = "$subject\n\n$summary\n\n$trailers\n"
TEMPLATE_FIELDS = frozenset({"subject", "summary", "trailers", "count", "targets", "images"})
_PATH_PREFIX = "path="
_SETTER_PREFIX = "setter="


class CommitTemplateError(ValueError):
    """A commit message template with a bad placeholder or a field conveyor does not have."""


@dataclass(frozen=True)
class ReleasedChange:
    """One image value an automation run changed."""

    workload_id: str | None
    container: str | None
    setter_policy: str | None
    """The ``NS:NAME`` marking a value that is not a container's image, else None."""
    path: str | None
    """The file, for a value outside any workload; None when ``workload_id`` names it."""
    old_image: str
    new_image: str

    @property
    def target(self) -> str:
        return self.workload_id or f"{_PATH_PREFIX}{self.path}"

    @property
    def detail(self) -> str:
        return self.container or f"{_SETTER_PREFIX}{self.setter_policy}"

    def trailer(self) -> str:
        return f"{CHANGE_TRAILER}: {self.target} {self.detail} {self.old_image} -> {self.new_image}"

    def summary_line(self) -> str:
        what = (
            f"container {self.container}"
            if self.container
            else f"$imagepolicy {self.setter_policy}"
        )
        return f"- {self.workload_id or self.path} {what}: {self.old_image} -> {self.new_image}"


def check_template(template: str) -> Template:
    """The compiled template; raises :class:`CommitTemplateError` naming the problem."""
    compiled = Template(template)
    if not compiled.is_valid():
        raise CommitTemplateError(
            f"commit message template {template!r} has a '$' that starts no field; "
            "write $$ for a dollar sign"
        )
    unknown = sorted(set(compiled.get_identifiers()) - TEMPLATE_FIELDS)
    if unknown:
        raise CommitTemplateError(
            f"commit message template {template!r} uses unknown field(s) "
            f"{', '.join(unknown)}; the fields are {', '.join(sorted(TEMPLATE_FIELDS))}"
        )
    return compiled


def render_commit_message(
    changes: Sequence[ReleasedChange], *, template: str = DEFAULT_TEMPLATE
) -> str:
    """One message for all of a run's changes, ending with exactly one newline."""
    compiled = check_template(template)
    new_images = list(dict.fromkeys(change.new_image for change in changes))
    message = compiled.substitute(
        subject=commit_subject(changes),
        summary="\n".join(change.summary_line() for change in changes),
        trailers="\n".join(change.trailer() for change in changes),
        count=str(len(changes)),
        targets=_count_targets(changes),
        images=", ".join(new_images),
    )
    return message.rstrip("\n") + "\n"


def commit_subject(changes: Sequence[ReleasedChange]) -> str:
    """``Release IMAGE to N workloads`` when every change releases one image, else a count."""
    if not changes:
        return "No image changes"
    released = {_image_key(change.new_image) for change in changes}
    if len(released) == 1:
        return f"Release {changes[0].new_image} to {_count_targets(changes)}"
    return f"Update images of {_count_targets(changes)}"


def parse_change_trailers(message: str) -> tuple[ReleasedChange, ...]:
    """The changes a message's ``Conveyor-Change:`` trailers list; other lines are ignored."""
    found = []
    for line in message.splitlines():
        key, colon, value = line.partition(":")
        if not colon or key.strip() != CHANGE_TRAILER:
            continue
        # Images and details have no spaces; a path may, so it is what is left on the left.
        head_and_old, arrow, new_image = value.strip().rpartition(" -> ")
        head, _, old_image = head_and_old.rpartition(" ")
        target, _, detail = head.rpartition(" ")
        if not (arrow and target and detail and old_image and new_image) or " " in new_image:
            continue
        path = target.removeprefix(_PATH_PREFIX) if target.startswith(_PATH_PREFIX) else None
        setter = detail.removeprefix(_SETTER_PREFIX) if detail.startswith(_SETTER_PREFIX) else None
        found.append(
            ReleasedChange(
                workload_id=None if path is not None else target,
                container=None if setter is not None else detail,
                setter_policy=setter,
                path=path,
                old_image=old_image,
                new_image=new_image,
            )
        )
    return tuple(found)


def _count_targets(changes: Sequence[ReleasedChange]) -> str:
    workloads = {change.workload_id for change in changes if change.workload_id}
    files = {change.path for change in changes if not change.workload_id}
    counted = [
        _plural(len(workloads), "workload") if workloads else "",
        _plural(len(files), "file") if files else "",
    ]
    return " and ".join(part for part in counted if part) or _plural(0, "workload")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _image_key(image: str) -> tuple[str, str | None]:
    """Two spellings of one image (``app:1`` and ``docker.io/library/app:1``) are one release."""
    name, tag, _ = split_image(image)
    return canonical_repository(name), tag
