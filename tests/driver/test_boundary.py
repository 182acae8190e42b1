"""The driver's imports: only the public names of webvoice.sip, and no circles.

``webvoice.sip/__init__.py`` says what the core offers; the driver
(``webvoice/*.py``, ``webvoice/browser/``) imports only that, so the core's
modules stay private and may move. And the driver's own modules import one
way: a module that imports another (at run time, inside a function, or only
for the type checker) is never imported back by it, directly or around a
circle. Read from the source with ``ast``, so a lazy import inside a
function counts as much as one at the top.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

import webvoice.sip

PACKAGE = pathlib.Path(webvoice.__file__).parent
DRIVER = sorted([*PACKAGE.glob("*.py"), *(PACKAGE / "browser").glob("*.py")])


def module_name(path: pathlib.Path, root: pathlib.Path = PACKAGE.parent) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: pathlib.Path, root: pathlib.Path = PACKAGE.parent) -> list[tuple[int, str, tuple[str, ...]]]:
    """(line, absolute module, names) of every import in ``path``, wherever it sits."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            module = node.module or ""
            absolute = (f"{base}.{module}" if module else base) if node.level else module
            found.append((node.lineno, absolute, tuple(alias.name for alias in node.names)))
    return found


def violations(paths: list[pathlib.Path], root: pathlib.Path = PACKAGE.parent) -> list[str]:
    """Every place in ``paths`` that reaches into the core past webvoice.sip's exports."""
    found = []
    for path in paths:
        where = path.relative_to(root)
        for line, module, names in imports(path, root):
            if module.startswith("webvoice.sip._"):
                found.append(f"{where}:{line} imports {module}")
            elif module == "webvoice.sip":
                unknown = [n for n in names if n not in webvoice.sip.__all__]
                if unknown:
                    found.append(f"{where}:{line} imports {unknown}, which webvoice.sip does not export")
        for node in ast.walk(ast.parse(path.read_text())):  # sys.modules.get("webvoice.sip._x") and the like
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value.startswith("webvoice.sip._"):
                found.append(f"{where}:{node.lineno} names module {node.value}")
    return found


def test_the_driver_reads_the_core_only_through_webvoice_sip():
    assert violations(DRIVER) == []


def test_every_name_webvoice_sip_exports_resolves():
    for name in webvoice.sip.__all__:
        assert hasattr(webvoice.sip, name), name


def test_the_boundary_check_reports_each_way_past_it(tmp_path):
    browser = tmp_path / "webvoice" / "browser"
    browser.mkdir(parents=True)
    bad = browser / "_bad.py"
    bad.write_text("from ..sip._uri import SipUri\nfrom ..sip import _uri, SipUri\n"
                   "import webvoice.sip._ua\n\ndef f():\n    return 'webvoice.sip._call'\n")
    assert violations([bad], tmp_path) == [
        "webvoice/browser/_bad.py:1 imports webvoice.sip._uri",
        "webvoice/browser/_bad.py:2 imports ['_uri'], which webvoice.sip does not export",
        "webvoice/browser/_bad.py:3 imports webvoice.sip._ua",
        "webvoice/browser/_bad.py:6 names module webvoice.sip._call",
    ]


def graph() -> dict[str, set[str]]:
    """Driver module -> the driver modules it imports (any import, anywhere in it)."""
    modules = {module_name(p): p for p in DRIVER}
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for _, module, names in imports(path):
            targets = [module, *(f"{module}.{n}" for n in names)]
            edges[name] |= {t for t in targets if t in modules and t != name and t != "webvoice"}
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def test_the_driver_has_no_import_circles():
    assert circles(graph()) == []


@pytest.mark.parametrize("edges, expected", [
    ({"a": {"b"}, "b": {"a"}}, [["a", "b", "a"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
])
def test_the_circle_finder_finds_circles(edges, expected):
    assert circles(edges) == expected


def test_the_type_checkers_see_every_lazy_export_of_webvoice_sip():
    """webvoice.sip's names load on first use (PEP 562), which type checkers and IDEs
    cannot follow; its ``if TYPE_CHECKING:`` block spells them out. The two agree."""
    tree = ast.parse((PACKAGE / "sip" / "__init__.py").read_text())
    (block,) = [node for node in tree.body if isinstance(node, ast.If)
                and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"]
    spelled = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.level == 1, ast.dump(node)
        for alias in node.names:
            name = alias.asname or alias.name
            spelled[name] = node.module if name == alias.name else f"{node.module}:{alias.name}"
    assert spelled == webvoice.sip._MODULE_OF


def test_webvoice_names_its_lazy_exports_for_type_checkers_too():
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    (block,) = [node for node in tree.body if isinstance(node, ast.If)
                and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"]
    spelled = {alias.asname or alias.name: node.module for node in block.body for alias in node.names}
    assert spelled == webvoice._LAZY
