"""Safe YAML reading for package files (spec section 2.4).

Only the YAML core types are read: no tags, no dates, no anchors or aliases (they
make "billion laughs" documents possible), no duplicate keys, no documents larger
than :data:`MAX_YAML_BYTES`.
"""

from __future__ import annotations

from typing import Any

from .errors import InvalidPackage, Problem

__all__ = ["MAX_YAML_BYTES", "dump_yaml", "load_yaml"]

MAX_YAML_BYTES = 1024 * 1024

_loader_class: Any = None


def _make_loader() -> Any:
    import yaml
    from yaml.composer import Composer

    base: Any = yaml.SafeLoader
    if hasattr(yaml, "CSafeLoader"):
        c_loader: Any = yaml.CSafeLoader

        # The C loader composes nodes in C, where compose_node below would never be called:
        # keep its parser (the slow part in Python) and compose in Python.
        class CParsed(Composer, c_loader):  # type: ignore[misc]
            def __init__(self, stream: Any) -> None:
                c_loader.__init__(self, stream)
                self.anchors: dict[Any, Any] = {}

        base = CParsed

    class Loader(base):  # type: ignore[misc]
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.constructor.ConstructorError(
                    None, None, "aliases (*name) are not allowed", event.start_mark
                )
            event = self.peek_event()
            if getattr(event, "anchor", None) is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, "anchors (&name) are not allowed", event.start_mark
                )
            # Explicit tags, standard ones (!!str) included: the plain YAML types need none.
            tag = getattr(event, "tag", None)
            if tag is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"tag {tag!r} is not allowed", event.start_mark
                )
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                except TypeError:
                    raise yaml.constructor.ConstructorError(
                        None, None, "mapping keys must be plain scalars", key_node.start_mark
                    ) from None
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    # Only the standard tags; an explicit tag such as !!python/object is refused.
    def refuse_tag(loader: Any, tag_suffix: Any, node: Any) -> Any:
        raise yaml.constructor.ConstructorError(
            None, None, f"tag {node.tag!r} is not allowed", node.start_mark
        )

    Loader.add_multi_constructor("!", refuse_tag)
    Loader.add_multi_constructor("tag:", refuse_tag)

    # No key of the specification takes a date: a plain 2024-01-31 is a mistake (section 2.4).
    def refuse_timestamp(loader: Any, node: Any) -> Any:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is read as a date: quote it", node.start_mark
        )

    Loader.add_constructor("tag:yaml.org,2002:timestamp", refuse_timestamp)
    return Loader


def load_yaml(data: bytes | str, file: str) -> Any:
    """Parse one YAML document; raise :class:`InvalidPackage` naming *file* and the line."""
    global _loader_class
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_YAML_BYTES:
        raise InvalidPackage([Problem(file=file, path="", message=f"larger than {MAX_YAML_BYTES} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        message = f"not UTF-8 text: line {line}: {exc.reason} at byte {exc.start}"
        raise InvalidPackage([Problem(file=file, path="", message=message)]) from None
    import yaml

    if _loader_class is None:
        _loader_class = _make_loader()
    try:
        return yaml.load(text, Loader=_loader_class)  # noqa: S506 - the loader above is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidPackage(
            [Problem(file=file, path="", message=f"invalid YAML: {where}{problem}")]
        ) from None


def dump_yaml(data: Any) -> str:
    """Write *data* as block-style YAML, keeping key order."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return str(yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False, allow_unicode=True))
