"""Add, change or remove one annotation on one object, keeping the file's own style.

Lock, unlock, automate and policy changes are each one annotation key. A changed value is a
splice at the old value's span. A new key goes after the last existing annotation, at the same
indentation; when the object has no ``annotations:`` yet, one is added after the last entry of
``metadata`` with the file's indentation step (or as ``, annotations: {k: v}`` when ``metadata``
is a flow mapping). Removing the last key removes the ``annotations:`` entry too, so adding then
removing a key gives back the original bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from conveyor.core.workloads import kubernetes_objects, object_id
from conveyor.core.yamltext import (
    EditError,
    ParsedYaml,
    ScalarStyle,
    is_null,
    line_start,
    mapping_entry,
    newline_of,
    next_line_start,
    parse_yaml,
    render_scalar,
)

__all__ = ["remove_annotation", "set_annotation"]


@dataclass(frozen=True)
class _Splice:
    start: int
    end: int
    new_text: str


@dataclass(frozen=True)
class _Metadata:
    """An object's ``metadata`` entry: its key node (for the indentation step) and its mapping."""

    key: yaml.Node
    mapping: yaml.MappingNode


def set_annotation(text: str, workload_id: str, *, key: str, value: str) -> str:
    """Set ``key`` to ``value`` in the annotations of the object ``workload_id`` (ns:kind/name)."""
    parsed = parse_yaml(text)
    metadata = _metadata(parsed, workload_id)
    annotations_entry = mapping_entry(metadata.mapping, "annotations", follow_merges=False)
    if annotations_entry is None:
        return _apply(text, [_add_annotations(parsed, metadata, key=key, value=value)])
    annotations_key, annotations = annotations_entry
    if is_null(annotations):
        assert isinstance(annotations, yaml.ScalarNode)
        entry = (annotations_key, annotations)
        return _apply(text, _fill_null(parsed, metadata, entry, key=key, value=value))
    if not isinstance(annotations, yaml.MappingNode):
        raise EditError(f"{workload_id}: metadata.annotations is not a mapping; fix it by hand")
    existing = mapping_entry(annotations, key, follow_merges=False)
    if existing is not None:
        return _apply(text, [_replace_value(parsed, existing[1], value)])
    return _apply(text, [_add_entry(parsed, annotations, key=key, value=value)])


def remove_annotation(text: str, workload_id: str, *, key: str) -> str:
    """Remove ``key`` from the object's annotations; the text is returned as is when absent."""
    parsed = parse_yaml(text)
    metadata = _metadata(parsed, workload_id).mapping
    annotations_entry = mapping_entry(metadata, "annotations", follow_merges=False)
    if annotations_entry is None or not isinstance(annotations_entry[1], yaml.MappingNode):
        return text
    annotations = annotations_entry[1]
    keys = [k.value if isinstance(k, yaml.ScalarNode) else None for k, _ in annotations.value]
    if key not in keys:
        return text
    if len(annotations.value) == 1:  # the last key: drop ``annotations:`` with it
        return _apply(text, [_remove_entry(parsed, metadata, annotations_entry[0])])
    index = len(keys) - 1 - keys[::-1].index(key)
    return _apply(text, [_remove_entry(parsed, annotations, annotations.value[index][0])])


def _metadata(parsed: ParsedYaml, workload_id: str) -> _Metadata:
    matches = [
        node
        for root in parsed.documents
        if root is not None
        for _, node, reason in kubernetes_objects(root)
        if not reason and object_id(node) == workload_id
    ]
    if not matches:
        raise EditError(f"no object {workload_id!r} in this file; check its namespace, kind, name")
    if len(matches) > 1:
        raise EditError(f"{workload_id!r} is defined {len(matches)} times in this file")
    entry = mapping_entry(matches[0], "metadata", follow_merges=False)
    if entry is None or not isinstance(entry[1], yaml.MappingNode):
        raise EditError(f"{workload_id}: metadata is not written as a mapping; fix it by hand")
    return _Metadata(key=entry[0], mapping=entry[1])


def _apply(text: str, splices: list[_Splice]) -> str:
    for splice in sorted(splices, key=lambda s: s.start, reverse=True):
        text = text[: splice.start] + splice.new_text + text[splice.end :]
    return text


def _replace_value(parsed: ParsedYaml, node: yaml.Node, value: str) -> _Splice:
    if not isinstance(node, yaml.ScalarNode):
        raise EditError(f"the annotation at line {node.start_mark.line + 1} is not a string")
    span = parsed.span(node)
    rendered = render_scalar(value, span.style)
    if span.start == span.end:  # ``key:`` with no value: keep YAML's blank after the colon
        rendered = " " + rendered
    return _Splice(span.start, span.end, rendered)


def _value_style(mapping: yaml.MappingNode) -> ScalarStyle:
    """Quote a new value like the last existing value; with none, like the keys (JSON: double)."""
    styles: dict[str | None, ScalarStyle] = {"'": "single", '"': "double"}
    for _, value_node in reversed(mapping.value):
        if isinstance(value_node, yaml.ScalarNode) and not is_null(value_node):
            return styles.get(value_node.style, "plain")
    return _key_style(mapping)


def _key_style(mapping: yaml.MappingNode) -> ScalarStyle:
    first_key = mapping.value[0][0] if mapping.value else None
    return "double" if getattr(first_key, "style", None) == '"' else "plain"


def _entry_text(key: str, value: str, *, key_style: ScalarStyle, value_style: ScalarStyle) -> str:
    return f"{render_scalar(key, key_style)}: {render_scalar(value, value_style)}"


def _content_end(parsed: ParsedYaml, key_node: yaml.Node, value_node: yaml.Node) -> int:
    """Offset just past the last character of a mapping entry (block values are descended)."""
    return _node_end(parsed, value_node, after=parsed.end(key_node))


def _node_end(parsed: ParsedYaml, node: yaml.Node, *, after: int) -> int:
    """Offset just past ``node`` written after offset ``after`` (its key or its previous item)."""
    text = parsed.text
    if parsed.start(node) < after:  # an alias: the composed node is the anchor's, elsewhere
        index = text.index("*", after)
        while index < len(text) and text[index] not in " \t\r\n,]}":
            index += 1
        return index
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _content_end(parsed, *node.value[-1])
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        end = after
        for item in node.value:
            end = _node_end(parsed, item, after=end)
        return end
    return parsed.end(node)


def _insert_after_line(parsed: ParsedYaml, offset: int, lines: str) -> _Splice:
    """Insert whole ``lines`` after the line holding ``offset - 1`` (blocks end with a break)."""
    text = parsed.text
    at = offset if offset > 0 and text[offset - 1] == "\n" else next_line_start(text, offset)
    prefix = newline_of(text) if at == len(text) and not text.endswith("\n") else ""
    return _Splice(at, at, prefix + lines)


def _add_entry(parsed: ParsedYaml, mapping: yaml.MappingNode, *, key: str, value: str) -> _Splice:
    """A new last entry of a (non-empty block, or flow) mapping."""
    entry = _entry_text(
        key, value, key_style=_key_style(mapping), value_style=_value_style(mapping)
    )
    if mapping.flow_style or not mapping.value:
        return _add_flow_entry(parsed, mapping, entry)
    last_key, last_value = mapping.value[-1]
    indent = " " * int(mapping.value[0][0].start_mark.column)
    nl = newline_of(parsed.text)
    return _insert_after_line(
        parsed, _content_end(parsed, last_key, last_value), f"{indent}{entry}{nl}"
    )


def _add_flow_entry(parsed: ParsedYaml, mapping: yaml.MappingNode, entry: str) -> _Splice:
    if not mapping.flow_style and not mapping.value:
        raise EditError(f"cannot add to the empty mapping at line {mapping.start_mark.line + 1}")
    if mapping.value:
        at = _content_end(parsed, *mapping.value[-1])
        return _Splice(at, at, ", " + entry)
    at = parsed.text.rindex("}", 0, parsed.end(mapping))
    return _Splice(at, at, entry)


def _indent_step(metadata: _Metadata) -> int:
    """How far the file indents a mapping's keys under their parent key (2 when unsure)."""
    if metadata.mapping.flow_style or not metadata.mapping.value:
        return 2
    first_key = metadata.mapping.value[0][0]
    step = int(first_key.start_mark.column) - int(metadata.key.start_mark.column)
    return step if step > 0 else 2


def _add_annotations(parsed: ParsedYaml, metadata: _Metadata, *, key: str, value: str) -> _Splice:
    mapping = metadata.mapping
    key_style = _key_style(mapping)
    entry = _entry_text(key, value, key_style=key_style, value_style=key_style)
    annotations_key = render_scalar("annotations", key_style)
    if mapping.flow_style or not mapping.value:
        return _add_flow_entry(parsed, mapping, f"{annotations_key}: {{{entry}}}")
    column = int(mapping.value[0][0].start_mark.column)
    step = _indent_step(metadata)
    nl = newline_of(parsed.text)
    lines = f"{' ' * column}{annotations_key}:{nl}{' ' * (column + step)}{entry}{nl}"
    return _insert_after_line(parsed, _content_end(parsed, *mapping.value[-1]), lines)


def _fill_null(
    parsed: ParsedYaml,
    metadata: _Metadata,
    annotations: tuple[yaml.Node, yaml.ScalarNode],
    *,
    key: str,
    value: str,
) -> list[_Splice]:
    """``annotations:`` (or ``annotations: ~``) becomes a mapping holding one entry."""
    annotations_key, null_value = annotations
    key_style = _key_style(metadata.mapping)
    entry = _entry_text(key, value, key_style=key_style, value_style=key_style)
    span = parsed.span(null_value)
    if metadata.mapping.flow_style:
        return [_Splice(span.start, span.end, f"{{{entry}}}")]
    start = span.start
    while start > 0 and parsed.text[start - 1] in " \t":
        start -= 1  # ``annotations: ~`` -> ``annotations:``, no trailing blank left behind
    indent = " " * (int(annotations_key.start_mark.column) + _indent_step(metadata))
    nl = newline_of(parsed.text)
    return [
        _Splice(start, span.end, ""),
        _insert_after_line(parsed, span.end, f"{indent}{entry}{nl}"),
    ]


def _remove_entry(parsed: ParsedYaml, mapping: yaml.MappingNode, key_node: yaml.Node) -> _Splice:
    """Remove one entry: its whole lines in a block mapping, the entry and a comma in a flow one."""
    entries = mapping.value
    index = next(i for i, (k, _) in enumerate(entries) if k is key_node)
    text = parsed.text
    if not mapping.flow_style:
        start = line_start(text, parsed.start(key_node))
        if text[start : parsed.start(key_node)].strip():
            raise EditError(f"the key at line {key_node.start_mark.line + 1} shares its line")
        end = _content_end(parsed, key_node, entries[index][1])
        end = end if text[end - 1] == "\n" else next_line_start(text, end)
        return _Splice(start, end, "")
    if index + 1 < len(entries):
        return _Splice(parsed.start(key_node), parsed.start(entries[index + 1][0]), "")
    end = _content_end(parsed, key_node, entries[index][1])
    if index > 0:
        return _Splice(_content_end(parsed, *entries[index - 1]), end, "")
    return _Splice(parsed.start(key_node), end, "")
