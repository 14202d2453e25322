"""YAML text with positions: which characters of a file hold which value.

Everything conveyor edits in a manifest is found here first. PyYAML's composer keeps a start and
an end mark on every node; the marks count characters (not bytes) of the decoded text, a CRLF
counts as two, so they index straight into the ``str`` we were given. Editing by splicing the
original text at those marks is what keeps every other byte of a file identical (a YAML dumper
re-indents, respaces and drops comments).

Two quirks of the marks are handled here so callers never see them:

- an anchored or tagged value's start mark includes ``&anchor`` / ``!tag``: :func:`ParsedYaml.span`
  skips them to reach the value itself;
- the composer does not count a leading byte-order mark: the BOM is stripped before parsing and
  added back to every offset.

Exceptions::

    ValueError
     +-- ManifestSyntaxError   the text is not YAML (names the document index and line)
     +-- EditError             an edit cannot be made (stale span, unknown workload, ...)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import yaml
from yaml.resolver import Resolver

ScalarStyle = Literal["plain", "single", "double", "literal", "folded"]

_STYLES: dict[str | None, ScalarStyle] = {
    None: "plain",
    "": "plain",
    "'": "single",
    '"': "double",
    "|": "literal",
    ">": "folded",
}
_BOM = "\ufeff"
# The C composer is several times faster; the pure-Python one gives identical marks.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR_TAG = "tag:yaml.org,2002:str"
_RESOLVER = Resolver()
# YAML 1.2 parsers (and Go's) read some of these as numbers where PyYAML's 1.1 rules do not.
_NUMBER_LIKE = re.compile(r"[-+]?(\.\d+|\d[\d_]*(\.\d*)?)([eE][-+]?\d+)?|0[xXoObB][0-9a-fA-F_]+")
_PLAIN_FORBIDDEN_START = set("-?:,[]{}#&*!|>'\"%@` \t")


class ManifestSyntaxError(ValueError):
    """The text is not valid YAML. Says which document (0-based) and which line (1-based)."""

    def __init__(
        self, *, source: str, document_index: int, line: int, column: int, problem: str
    ) -> None:
        where = f"{source}: " if source else ""
        super().__init__(
            f"{where}YAML document {document_index} is malformed at line {line}, column "
            f"{column}: {problem} (check the indentation and quoting around that line)"
        )
        self.source = source
        self.document_index = document_index
        self.line = line
        self.column = column
        self.problem = problem


class EditError(ValueError):
    """An edit could not be made; the text is left as it was."""


@dataclass(frozen=True)
class ScalarSpan:
    """Where one scalar value sits in the text: ``text[start:end] == raw`` (quotes included)."""

    start: int
    end: int
    line: int  # 1-based line of ``start``
    column: int  # 1-based column of ``start``
    style: ScalarStyle
    value: str  # the parsed value
    raw: str  # the characters as written


@dataclass(frozen=True)
class ParsedYaml:
    """The documents of one text, composed to nodes, with offsets that index ``text``."""

    text: str
    documents: tuple[yaml.Node | None, ...]
    bom: int  # 1 when the text starts with a byte-order mark the marks do not count

    def start(self, node: yaml.Node) -> int:
        """Offset of the node's first character (anchor and tag included)."""
        return int(node.start_mark.index) + self.bom

    def end(self, node: yaml.Node) -> int:
        """Offset just past the node's last character."""
        return int(node.end_mark.index) + self.bom

    def span(self, node: yaml.ScalarNode) -> ScalarSpan:
        """The exact characters of a scalar, past any ``&anchor`` or ``!tag`` in front of it."""
        start = skip_node_properties(self.text, self.start(node))
        end = max(self.end(node), start)
        line = self.text.count("\n", 0, start) + 1
        column = start - (self.text.rfind("\n", 0, start) + 1) + 1
        return ScalarSpan(
            start=start,
            end=end,
            line=line,
            column=column,
            style=_STYLES.get(node.style, "plain"),
            value=str(node.value),
            raw=self.text[start:end],
        )


def parse_yaml(text: str, *, source: str = "") -> ParsedYaml:
    """Compose every document of ``text``; raise :class:`ManifestSyntaxError` on malformed YAML."""
    bom = 1 if text.startswith(_BOM) else 0
    documents: list[yaml.Node | None] = []
    try:
        for node in yaml.compose_all(text[bom:], Loader=_LOADER):
            documents.append(node)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise ManifestSyntaxError(
            source=source,
            document_index=len(documents),
            line=(mark.line + 1) if mark else 0,
            column=(mark.column + 1) if mark else 0,
            problem=str(e.problem or e.context or "invalid YAML"),
        ) from e
    except yaml.YAMLError as e:  # reader errors: bad characters, with a position but no mark
        position = int(getattr(e, "position", 0))
        raise ManifestSyntaxError(
            source=source,
            document_index=len(documents),
            line=text.count("\n", 0, position + bom) + 1,
            column=position + bom - (text.rfind("\n", 0, position + bom) + 1) + 1,
            problem=str(getattr(e, "reason", e)),
        ) from e
    return ParsedYaml(text=text, documents=tuple(documents), bom=bom)


def skip_node_properties(text: str, index: int) -> int:
    """Step over ``&anchor`` / ``!tag`` properties and the blanks and comments after them."""
    while index < len(text) and text[index] in "&!":
        while index < len(text) and text[index] not in " \t\r\n":
            index += 1
        index = skip_blanks_and_comments(text, index)
    return index


def skip_blanks_and_comments(text: str, index: int) -> int:
    """First offset at or after ``index`` that is not a blank, a line break or a comment."""
    while index < len(text):
        char = text[index]
        if char in " \t\r\n":
            index += 1
        elif char == "#":
            index = line_end(text, index)
        else:
            break
    return index


def line_start(text: str, index: int) -> int:
    """Offset of the first character of the line holding ``index``."""
    return text.rfind("\n", 0, index) + 1


def line_end(text: str, index: int) -> int:
    """Offset of the line break (``\\r\\n`` or ``\\n``) ending the line at ``index``, or the end."""
    newline = text.find("\n", index)
    if newline < 0:
        return len(text)
    return newline - 1 if newline > 0 and text[newline - 1] == "\r" else newline


def next_line_start(text: str, index: int) -> int:
    """Offset just past the line break ending the line at ``index`` (or the end of the text)."""
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1


def newline_of(text: str) -> str:
    """The file's line break: CRLF when its first line ends with one, else LF."""
    newline = text.find("\n")
    return "\r\n" if newline > 0 and text[newline - 1] == "\r" else "\n"


def mapping_entry(
    node: yaml.Node | None, key: str, *, follow_merges: bool = True
) -> tuple[yaml.Node, yaml.Node] | None:
    """The (key node, value node) pair for ``key``, following ``<<`` merge keys; last one wins.

    Edits pass ``follow_merges=False``: a merged value belongs to another object as well.
    """
    if not isinstance(node, yaml.MappingNode):
        return None
    found: tuple[yaml.Node, yaml.Node] | None = None
    merges: list[yaml.Node] = []
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode):
            if key_node.value == key:
                found = (key_node, value_node)
            elif key_node.value == "<<" and key_node.tag.endswith(":merge"):
                merges.append(value_node)
    if found is not None or not follow_merges:
        return found
    for merged in merges:
        sources = merged.value if isinstance(merged, yaml.SequenceNode) else [merged]
        for source in sources:
            entry = mapping_entry(source, key)
            if entry is not None:
                return entry
    return None


def mapping_get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value node under ``key`` (see :func:`mapping_entry`), or None."""
    entry = mapping_entry(node, key)
    return None if entry is None else entry[1]


def scalar_text(node: yaml.Node | None) -> str | None:
    """The scalar's value as written (no type resolution), or None for anything else."""
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    return None


def is_null(node: yaml.Node | None) -> bool:
    """True for a missing node and for an explicit or empty YAML null."""
    return node is None or (
        isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"
    )


def value_scalars(node: yaml.Node | None) -> Iterator[yaml.ScalarNode]:
    """Every scalar that is a value (not a mapping key) under ``node``, each node once."""
    seen: set[int] = set()
    stack: list[yaml.Node | None] = [node]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, yaml.ScalarNode):
            yield current
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            stack.extend(value for _, value in current.value)


def is_plain_safe(value: str) -> bool:
    """Whether ``value`` can be written unquoted and still read back as this exact string."""
    if not value or value != value.strip() or value[0] in _PLAIN_FORBIDDEN_START:
        return False
    if any(c in value for c in ",[]{}\n\r\t") or ": " in value or " #" in value:
        return False
    if value.endswith(":") or not value.isprintable() or _NUMBER_LIKE.fullmatch(value):
        return False
    # Implicit resolution decides what an unquoted value reads back as (str, int, bool, ...).
    resolved = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return bool(resolved == _STR_TAG)


def render_scalar(value: str, style: ScalarStyle) -> str:
    """``value`` written in ``style``; plain falls back to double quotes when it would not read back
    as the same string (``1.10`` would become a float, ``true`` a boolean)."""
    if style == "plain" and is_plain_safe(value):
        return value
    if style == "single" and value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    if style in ("literal", "folded"):
        raise EditError(f"cannot rewrite a {style} block scalar in place; write {value!r} by hand")
    return double_quoted(value)


def double_quoted(value: str) -> str:
    """``value`` as a YAML double-quoted scalar (JSON's escapes are a subset YAML accepts)."""
    escaped = []
    for char in value:
        if char in '\\"':
            escaped.append("\\" + char)
        elif char.isprintable():
            escaped.append(char)
        elif ord(char) <= 0xFF:
            escaped.append(f"\\x{ord(char):02x}")
        else:
            escaped.append(f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}")
    return '"' + "".join(escaped) + '"'
