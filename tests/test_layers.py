"""The architecture as a test: a lower layer never imports a higher one.

core  <-  sample, stages, tokenizer, trainer  <-  sft  <-  pipeline (CLI, runner, kickoff, report)

``tokenizer`` and ``trainer`` meet only through file formats (the packed-shard format is in
``core.indexed``); ``stages`` reach a tokenizer only through its files. Every import counts, also
those inside functions, so a lazy import cannot hide a dependency.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: What each top-level package may import of this project (besides itself).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "sample": {"core"},
    "stages": {"core"},
    "tokenizer": {"core"},
    "trainer": {"core"},
    "sft": {"core", "stages", "tokenizer"},
    "pipeline": {"core", "sample", "stages", "tokenizer", "trainer", "sft", "jobs"},
    "jobs": set(),
}
PACKAGES = set(ALLOWED)


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every project import in one file, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    own = path.relative_to(REPO).parts[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [own] if node.level else [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in PACKAGES:
                found.append((node.lineno, top))
    return found


def layer_violations(root: Path) -> list[str]:
    """Every import in ``root``'s packages that its layer does not allow, as ``file:line: message``."""
    out = []
    for package, allowed in sorted(ALLOWED.items()):
        folder = root / package
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.py")):
            for line, target in imported_packages(path):
                if target != package and target not in allowed:
                    rel = path.relative_to(root)
                    out.append(f"{rel}:{line}: {package} imports {target} "
                               f"(allowed: {', '.join(sorted(allowed)) or 'nothing of this project'})")
    return out


def test_no_lower_layer_imports_a_higher_one() -> None:
    violations = layer_violations(REPO)
    assert not violations, "layering broken:\n" + "\n".join(violations)


def test_the_check_catches_an_upward_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "bad.py").write_text("def f():\n    from stages.quality import QualityStage\n")
    (tmp_path / "trainer").mkdir()
    (tmp_path / "trainer" / "bad.py").write_text("import tokenizer.api\nfrom . import model\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    violations = layer_violations(tmp_path)
    assert [v.split(":")[0] + ":" + v.split(":")[1] for v in violations] == ["core/bad.py:2", "trainer/bad.py:1"]


@pytest.mark.parametrize("package,forbidden", [
    ("core", {"stages", "tokenizer", "trainer", "sample", "sft", "pipeline"}),
    ("tokenizer", {"stages", "trainer", "sample", "sft", "pipeline"}),
    ("trainer", {"stages", "tokenizer", "sample", "sft", "pipeline"}),
    ("stages", {"tokenizer", "trainer", "sample", "sft", "pipeline"}),
])
def test_importing_a_layer_loads_nothing_above_it(package: str, forbidden: set[str]) -> None:
    modules = sorted(p.relative_to(REPO).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")
                     for p in (REPO / package).rglob("*.py") if p.name != "__main__.py")
    code = ("import importlib, sys\n"
            f"for m in {modules!r}:\n"
            "    try:\n        importlib.import_module(m)\n"
            "    except ImportError as exc:\n        print('skip', m, exc, file=sys.stderr)\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(forbidden)!r})))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]", f"{package} loads {result.stdout.strip()}"
