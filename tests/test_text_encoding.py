"""Every text file the package, its tests and scripts read or write names its encoding.

Why: a hospital's study paths and patient names are not ASCII, and CI's shell runs under an ASCII locale; a
``read_text()`` that takes the locale's encoding works on one machine and fails on the next. This walks the
syntax tree (not a regex) for ``read_text``/``write_text`` and text-mode ``open`` calls without ``encoding=``.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("monai_lightseg", "tests", "benchmarks", "scripts", "apps")


def _is_module_or_class(node: ast.expr) -> bool:
    """``Image``, ``tarfile``, ``gzip``, ...: their ``open`` is not a text-file open (or takes no encoding)."""
    return isinstance(node, ast.Name) and (node.id[:1].isupper() or node.id in {"tarfile", "zipfile", "gzip", "h5py"})


def _text_mode_open(call: ast.Call) -> bool:
    """``open(...)``/``path.open(...)`` whose mode is a literal without "b" (or absent: "r")."""
    func = call.func
    is_open = (isinstance(func, ast.Name) and func.id == "open") or (
        isinstance(func, ast.Attribute) and func.attr == "open" and not _is_module_or_class(func.value)
    )
    if not is_open:
        return False
    args = call.args[1:] if isinstance(func, ast.Name) else call.args
    modes = [a.value for a in args[:1] if isinstance(a, ast.Constant)]
    modes += [k.value.value for k in call.keywords if k.arg == "mode" and isinstance(k.value, ast.Constant)]
    return not any("b" in str(m) for m in modes)


def _unencoded_calls(path: Path, root: Path = REPO) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not isinstance(node, ast.Call) or any(k.arg == "encoding" for k in node.keywords):
            continue
        name = getattr(node.func, "attr", None)
        if name in ("read_text", "write_text") or _text_mode_open(node):
            found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_the_checker_finds_what_it_looks_for(tmp_path):
    (tmp_path / "m.py").write_text(
        'p.read_text()\np.write_text("x")\nopen(f, "w")\npath.open("a")\n'
        'p.read_text(encoding="utf-8")\nopen(f, "rb")\nImage.open(f)\np.open("rb")\n',
        encoding="utf-8",
    )
    found = [line.rsplit(":", 1)[1] for line in _unencoded_calls(tmp_path / "m.py", tmp_path)]
    assert found == ["1", "2", "3", "4"]


@pytest.mark.parametrize("folder", FOLDERS)
def test_text_io_names_its_encoding(folder):
    found = [hit for path in sorted((REPO / folder).rglob("*.py")) for hit in _unencoded_calls(path)]
    assert not found, "text I/O without encoding= (the locale decides): " + ", ".join(found)
