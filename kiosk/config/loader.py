"""Loading the YAML file with errors that point at the right line (see :mod:`kiosk.config`).

Line numbers come from the YAML node tree (``yaml.compose``), not from re-parsing text: the line
of the offending *key* for unknown and duplicate keys, of the offending *value* for wrong types
and ranges, of the parent section's key for a missing required key.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
import yaml
from kiosk.errors import ConfigError
from kiosk.config.schema import Config
from kiosk.config.messages import Loc, _dotted, _format, _line, _node_kind, _show
from kiosk.config.validation import _Problem, _Where, _validate


def load_config(path: Path | str | None) -> Config:
    """Read, check and return the configuration in ``path``; ``None`` gives all defaults.

    Relative paths inside the file are resolved against the file's folder. Every problem in the
    file is reported at once: raises :class:`ConfigError` whose ``str()`` is one
    ``FILE:LINE: key.path: message`` line per problem, sorted by line (``FILE:LINE: message``
    for YAML syntax errors, ``FILE: message`` when the file cannot be read at all).
    """
    if path is None:
        return Config()
    origin = str(path)
    file_path = Path(path)
    text = _read_text(file_path, origin)
    base_dir = Path(os.path.abspath(file_path)).parent
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(_syntax_message(origin, exc)) from None
    except yaml.YAMLError as exc:  # unmarked (rare): still no traceback
        raise ConfigError(f"{origin}: YAML error: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{origin}: the file nests too deeply to be a kiosk configuration") from None
    if root is None:
        raise ConfigError(f"{origin}:1: the file is empty (no settings); copy kiosk.example.yaml and edit it")
    if not isinstance(root, yaml.MappingNode):
        sections = ", ".join(f"{name}:" for name in Config.model_fields)
        message = f"the file must be a mapping of sections ({sections}), got {_node_kind(root)}; see kiosk.example.yaml"
        raise ConfigError(_format(origin, _line(root), "", message))
    builder = _TreeBuilder()
    try:
        data = builder.build(root, ())
    except RecursionError:
        raise ConfigError(f"{origin}: the file nests too deeply to be a kiosk configuration") from None
    builder.lines[()] = _Where(_line(root), _line(root))
    return _validate(data, base_dir, origin, lines=builder.lines, prior=builder.problems, broken=builder.broken, root=Config)


def config_from_mapping(data: Mapping[str, Any], base_dir: Path | None = None) -> Config:
    """Check a plain mapping (as from ``yaml.safe_load`` or code) and return the configuration.

    Relative paths resolve against ``base_dir`` (default: the current directory). Raises
    :class:`ConfigError` with lines ``<mapping>: key.path: message`` (no line numbers).
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"<mapping>: expected a mapping of sections, got {_show(data)}")
    label = "the current directory" if base_dir is None else str(base_dir)
    return _validate(dict(data), base_dir, "<mapping>", lines=None, prior=[], broken=set(), root=Config, base_label=label)


def override_source(cfg: Config, spec: str) -> Config:
    """``cfg`` with ``camera.source`` replaced by ``spec`` (the CLI's ``--source``), checked.

    Relative paths in ``spec`` resolve against the current directory, as a shell user expects.
    Raises :class:`ConfigError` (exit code 2) with a line ``--source: camera.source: message``.
    """
    return cfg.with_overrides({"camera.source": spec}, origin="--source")


_MAX_BYTES = 1_000_000

def _read_text(file_path: Path, origin: str) -> str:
    try:
        raw = file_path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{origin}: config file not found (looked for {os.path.abspath(file_path)}); "
                          "start from kiosk.example.yaml") from None
    except IsADirectoryError:
        raise ConfigError(f"{origin}: is a folder, not a config file; give the path of the .yaml file") from None
    except PermissionError:
        raise ConfigError(f"{origin}: cannot read the config file: permission denied; "
                          "make it readable by the user the kiosk runs as") from None
    except OSError as exc:
        raise ConfigError(f"{origin}: cannot read the config file: {exc.strerror or exc}") from None
    if len(raw) > _MAX_BYTES:
        raise ConfigError(f"{origin}: the file is {len(raw) / 1e6:.1f} MB, too big for a kiosk configuration "
                          f"(at most {_MAX_BYTES / 1e6:.0f} MB); is this the right file?")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{origin}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                          "save the file as UTF-8 in a plain-text editor") from None


def _syntax_message(origin: str, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    quoted = exc.context == "while scanning a quoted scalar" and exc.context_mark is not None
    if quoted:
        mark = exc.context_mark  # the end of the file is where YAML noticed, not where the quote is
    line = mark.line + 1 if mark is not None else None
    problem = exc.problem or exc.context or "invalid YAML"
    message = f"YAML syntax error: {problem}"
    if exc.context and exc.problem and exc.context_mark is not None and not quoted:
        message += f" ({exc.context} on line {exc.context_mark.line + 1})"
    elif exc.context and exc.problem:
        message += f" ({exc.context})"
    flow = {"while parsing a flow sequence": "[]", "while parsing a flow mapping": "{}"}.get(exc.context or "")
    if quoted:
        hint = "the quote opened on this line is never closed: add the closing quote"
    elif flow and exc.context_mark is not None:
        hint = (f"the '{flow[0]}' on line {exc.context_mark.line + 1} needs a closing '{flow[1]}', "
                "and the items in it are separated by ','")
    elif "'\\t'" in problem:
        hint = "indent with spaces, never tabs"
    elif "another document" in problem:
        hint = "keep a single document: remove the extra '---'"
    else:
        hint = "check the indentation and the 'key: value' form on this line and the one before"
    return _format(origin, line, "", f"{message}; {hint}")


class _TreeBuilder:
    """Turns a composed YAML node tree into plain data, recording lines and duplicate keys.

    PyYAML's own constructor keeps the last of two equal keys without a word; here the node
    tree is walked directly so that duplicates, non-text keys and merge keys are reported.
    """

    def __init__(self) -> None:
        self.lines: dict[Loc, _Where] = {}
        self.problems: list[_Problem] = []
        self.broken: set[Loc] = set()  # paths already reported; later errors under them are noise
        self._scalars = yaml.SafeLoader("")
        self._stack: set[int] = set()

    def build(self, node: yaml.Node, path: Loc) -> Any:
        if id(node) in self._stack:
            self._report(path, _line(node), "refers to itself through an alias (*name); write the value out", broken=True)
            return None
        if isinstance(node, yaml.ScalarNode):
            try:
                return self._scalars.construct_object(node, deep=True)
            except yaml.MarkedYAMLError as exc:
                self._report(path, _line(node), f"cannot read this value: {exc.problem}", broken=True)
            except Exception as exc:  # e.g. 2024-13-45 parsed as a date: ValueError
                self._report(path, _line(node), f"cannot read this value ({node.value!r}): {exc}; quote it if it is text",
                             broken=True)
            return None
        self._stack.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                items = []
                for index, item in enumerate(node.value):
                    self.lines[path + (index,)] = _Where(_line(item), _line(item))
                    items.append(self.build(item, path + (index,)))
                return items
            assert isinstance(node, yaml.MappingNode)
            return self._mapping(node, path)
        finally:
            self._stack.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: Loc) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_line = _line(key_node)
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._report(path, key_line, "merge keys ('<<') are not supported; write the keys out in full")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._report(path, key_line, f"a key must be a plain word such as 'width', got {_node_kind(key_node)}")
                continue
            # The key's text as written: 'yes:' or '1:' stay the words 'yes' and '1' (an unknown
            # key), rather than becoming True or 1 and producing a confusing type message.
            key = key_node.value
            child = path + (key,)
            if key in first_line:
                self._report(child, key_line, f"duplicate key '{key}' (first on line {first_line[key]}); "
                             "YAML would silently use the last one, so delete one of them")
            else:
                first_line[key] = key_line
            self.lines[child] = _Where(key_line, _line(value_node))
            out[key] = self.build(value_node, child)
        return out

    def _report(self, path: Loc, line: int, message: str, *, broken: bool = False) -> None:
        if broken:  # the value became None: a schema error about it would only repeat this one
            self.broken.add(path)
        self.problems.append(_Problem(line, _dotted(path), message))


