"""The console: a short summary by default, -q / -v on every command, everything else in run.log."""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings

import pytest

from textxfer import console
from textxfer.cli import build_parser, main


def _finetune(data, bert, out, *extra):
    argv = ["finetune", str(data), "--model", str(bert), "--max-steps", "2", "--lora",
            "--eval-strategy", "no", "--out", str(out), *extra]  # fmt: skip
    return main(argv)


def test_default_console_is_the_summary_and_run_log_has_the_rest(data_dir, bert, tmp_path, capfd):
    assert _finetune(data_dir, bert, tmp_path / "ft") == 0
    out, err = capfd.readouterr()
    assert "method: lora" in out and "test  accuracy" in out
    # no JSON records, no INFO lines, no transformers LOAD REPORT table on the console
    assert '"split": "train"' not in out + err and "INFO" not in err and "LOAD REPORT" not in err
    log = (tmp_path / "ft" / "run.log").read_text()
    assert '"split": "train"' in log  # the training record
    assert "new head initialised (classifier.bias, classifier.weight)" in log  # one line, no table
    assert "LOAD REPORT" not in log
    assert "FutureWarning" in log  # a library's deprecation warning: logged, not printed
    assert "warning(s) from the libraries logged to" in err


def test_quiet_and_verbose_after_the_subcommand(data_dir, bert, tmp_path, capfd):
    assert _finetune(data_dir, bert, tmp_path / "q", "-q") == 0
    out, err = capfd.readouterr()
    assert "test  accuracy" in out and "train:" not in err and "warning(s)" not in err
    assert _finetune(data_dir, bert, tmp_path / "v", "-v") == 0
    _, err = capfd.readouterr()
    assert "INFO textxfer.train.loop" in err and "FutureWarning" in err


def test_quiet_and_verbose_go_before_or_after_the_subcommand():
    parser = build_parser()  # every command has them: tests/test_cli.py checks the flags
    args = parser.parse_args(["-v", "data", "show", "x", "-v"])
    assert args.verbose == 1  # the subcommand's own count wins when given
    assert parser.parse_args(["-vv", "data", "show", "x"]).verbose == 2
    assert parser.parse_args(["data", "show", "x", "-q"]).quiet is True


def test_configure_and_finish_leave_logging_and_warnings_as_they_were(tmp_path):
    root = logging.getLogger()
    handlers, level, filters = list(root.handlers), root.level, list(warnings.filters)
    log = console.configure(console.NORMAL)
    logging.getLogger("textxfer.demo").info("kept for the log")
    warnings.warn("a library deprecation", FutureWarning, stacklevel=1)
    log.attach(tmp_path)
    console.finish()
    text = (tmp_path / console.RUN_LOG).read_text()
    assert "kept for the log" in text and "a library deprecation" in text
    assert root.handlers == handlers and root.level == level and warnings.filters == filters
    assert not log.path.exists()  # the temp file is gone


def test_nested_progress_bars_are_hidden_unless_verbose():
    console.configure(console.NORMAL)
    try:
        with console.progress(total=1, desc="outer") as outer:
            with console.progress(total=1, desc="inner") as inner:
                assert not outer.disable and inner.disable
        console.configure(console.VERBOSE)
        with console.progress(total=1, desc="outer") as outer:
            with console.progress(total=1, desc="inner") as inner:
                assert not inner.disable
    finally:
        console.finish()


def test_import_configures_nothing_and_version_prints():
    code = (
        "import logging, textxfer.cli, textxfer.console; print(len(logging.getLogger().handlers))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
    version = subprocess.run(
        [sys.executable, "-m", "textxfer.cli", "--version"], capture_output=True, text=True
    )
    assert version.stdout.startswith("textxfer ")


@pytest.mark.parametrize("level", [console.QUIET, console.NORMAL])
def test_library_warnings_are_counted_not_shown(level, capsys):
    console.configure(level)
    logging.getLogger("transformers.demo").warning("a library notice")
    console.finish()
    err = capsys.readouterr().err
    assert "a library notice" not in err
    assert ("1 warning(s) from the libraries" in err) == (level == console.NORMAL)
