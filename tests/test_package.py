"""The package surface: every exported name resolves, importing stays light and side-effect free."""

from __future__ import annotations

import subprocess
import sys

import textxfer


def test_every_public_name_resolves():
    assert textxfer.__all__ == sorted(textxfer.__all__)
    for name in textxfer.__all__:
        assert getattr(textxfer, name) is not None, name


def test_import_is_light_and_sets_no_logging():
    code = (
        "import logging, sys, textxfer; "
        "heavy = [m for m in ('torch', 'transformers', 'nlpaug', 'gensim') if m in sys.modules]; "
        "print(heavy, logging.getLogger().handlers, logging.getLogger('textxfer').level)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[] [] 0"


def test_submodules_are_not_shadowed_by_functions():
    import importlib

    for name in ("augment", "finetune", "adapt", "compare"):
        module = importlib.import_module(f"textxfer.{name}")
        assert getattr(textxfer, name) is module
        assert callable(getattr(module, name))


def test_readme_method_table_is_the_registry():
    from pathlib import Path

    from textxfer.compare.registry import methods_table

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- methods-table -->\n")[1].split("\n<!-- /methods-table -->")[0]
    assert table == methods_table()
