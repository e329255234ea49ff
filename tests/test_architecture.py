"""The package's shape: imports only go down, no function shadows a module, ``--help`` does not import torch."""
from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import stylekit

PACKAGE = Path(stylekit.__file__).parent
# Bottom to top: a module may import its own package and any package below it, never one above.
LAYERS = ["version", "errors", "provenance", "options", "devices", "color", "io", "optim", "backbones", "objectives",
          "planning", "methods", "feedforward", "training", "videos", "cluster", "web", "neural_style", "console",
          "cli", "__init__", "__main__"]
PUBLIC = ["transfer", "fast", "fast_batch", "batch", "video", "texture", "invert", "dream", "features",
          "train"]


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[str]:
    module = "stylekit." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
                found += [target] if node.module else [f"{base}.{alias.name}" for alias in node.names]
            elif node.module and node.module.startswith("stylekit"):
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("stylekit")]
    return found


def test_no_package_imports_one_above_it():
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = []
    for path in PACKAGE.rglob("*.py"):
        here = _room("stylekit." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
        for target in _imports(path):
            there = _room(target) if _room(target) in rank else "__init__"  # e.g. stylekit.__version__
            if there != here and rank[there] > rank[here]:
                upward.append(f"{path.relative_to(PACKAGE)} imports {target}")
    assert upward == []


def test_public_functions_do_not_shadow_modules():
    for info in pkgutil.walk_packages(stylekit.__path__, "stylekit."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)  # importing every submodule rebinds nothing public
    for name in PUBLIC:
        assert callable(getattr(stylekit, name)) and not isinstance(getattr(stylekit, name), type(stylekit)), name
    import stylekit.methods as methods
    for name in ("transfer", "texture", "invert", "dream", "features"):
        assert callable(getattr(methods, name)) and not hasattr(getattr(methods, name), "__path__")
    modules = {info.name.rsplit(".", 1)[-1] for info in pkgutil.walk_packages(stylekit.__path__, "stylekit.")}
    assert modules.isdisjoint(PUBLIC)


def test_help_and_the_option_classes_do_not_import_torch():
    code = ("import sys, stylekit, stylekit.cli; stylekit.cli.build_parser(); stylekit.TransferOptions(); "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr
    result = subprocess.run([sys.executable, "-m", "stylekit", "transfer", "--help"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and "--style-weight" in result.stdout


def test_the_downloader_below_the_models_imports_no_torch():
    tree = ast.parse((PACKAGE / "io" / "downloads.py").read_text())
    names = [a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names]
    names += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]
    assert not any(name.split(".")[0] == "torch" for name in names)
