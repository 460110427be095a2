"""No function in ``kiosk/`` over ``MAX_LINES`` lines, and no module over ``MAX_MODULE_LINES``,
unless it says why.

A module over ``MAX_MODULE_LINES`` lines must say in its docstring why it is not split (a
sentence with "over 500 lines", e.g. "Over 500 lines on purpose: ...").

A function longer than that (from its ``def`` line to its last line, docstring and comments
included) must carry a ``# long: <reason>`` comment at the top of its body (on the ``def`` line,
or between it and the first statement after the docstring), naming why it is not split: the
reason is for the next reader, the marker for this test. Nested functions are measured on their
own; an outer function's marker does not cover them.

Run as a script to list every function over the limit with its reason:
``python tests/test_function_length.py``.
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

KIOSK = Path(__file__).resolve().parents[1] / "kiosk"
MAX_LINES = 80
MAX_MODULE_LINES = 500
MARKER = re.compile(r"#\s*long:\s*\S")


def long_functions(path: Path, source: str | None = None) -> list[tuple[str, int, int, str | None]]:
    """(qualified name, first line, length, reason or None) of each function over ``MAX_LINES``."""
    text = path.read_text(encoding="utf-8") if source is None else source
    lines = text.splitlines()
    out: list[tuple[str, int, int, str | None]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                length = (child.end_lineno or child.lineno) - child.lineno + 1
                if length > MAX_LINES:
                    body = child.body
                    has_doc = (isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                               and isinstance(body[0].value.value, str))
                    top = body[1].lineno if has_doc and len(body) > 1 else body[0].lineno
                    header = lines[child.lineno - 1:top]
                    found = next((m for m in (MARKER.search(line) for line in header) if m), None)
                    reason = None
                    if found is not None:
                        line = next(line for line in header if MARKER.search(line))
                        reason = line[line.index("long:") + 5:].strip()
                    out.append((name, child.lineno, length, reason))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(text), "")
    return out


def all_long_functions() -> list[tuple[str, str, int, int, str | None]]:
    return [(str(path.relative_to(KIOSK.parent)), name, line, length, reason)
            for path in sorted(KIOSK.rglob("*.py"))
            for name, line, length, reason in long_functions(path)]


def test_every_long_function_says_why() -> None:
    unexplained = [f"{path}:{line} {name} ({length} lines)"
                   for path, name, line, length, reason in all_long_functions() if not reason]
    assert not unexplained, (f"functions over {MAX_LINES} lines without a `# long: <reason>` comment at the top "
                             "of their body; split them, or say why not:\n" + "\n".join(unexplained))


def test_every_long_module_says_why() -> None:
    unexplained = []
    for path in sorted(KIOSK.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        doc = ast.get_docstring(ast.parse(text)) or ""
        if lines > MAX_MODULE_LINES and "over 500 lines" not in doc.lower():
            unexplained.append(f"{path.relative_to(KIOSK.parent)} ({lines} lines)")
    assert not unexplained, ("modules over 500 lines whose docstring does not say why (\"Over 500 lines: ...\"); "
                             "split them along their banners, or say why not:\n" + "\n".join(unexplained))


def test_the_checker_sees_a_long_function_and_its_reason(tmp_path: Path) -> None:
    """The checker itself (guards against a vacuous pass): a long function is found, its marker
    read, and an inner function is not covered by its outer function's marker."""
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_LINES))
    bare = f"def f():\n{body}"
    explained = f'def g():\n    """Doc."""\n    # long: one table, read top to bottom\n{body}'
    nested = f"def h():\n    # long: the outer one\n    def inner():\n    {body.replace(chr(10) + '    ', chr(10) + '        ')}\n"
    probe = tmp_path / "probe.py"
    assert long_functions(probe, bare) == [("f", 1, MAX_LINES + 1, None)]
    assert long_functions(probe, explained) == [("g", 1, MAX_LINES + 3, "one table, read top to bottom")]
    found = {name: reason for name, _, _, reason in long_functions(probe, nested)}
    assert found == {"h": "the outer one", "h.inner": None}
    short = "def k():\n" + "".join(f"    y{i} = {i}\n" for i in range(MAX_LINES - 1))
    assert long_functions(probe, short) == []


if __name__ == "__main__":
    rows = all_long_functions()
    for path, name, line, length, reason in sorted(rows, key=lambda r: -r[3]):
        print(f"{length:4d}  {path}:{line}  {name}  {'# long: ' + reason if reason else 'NO REASON'}")
    print(f"{len(rows)} functions over {MAX_LINES} lines, {sum(1 for r in rows if not r[4])} without a reason")
    sys.exit(1 if any(not r[4] for r in rows) else 0)
