"""The bad-input corpus: hostile or careless inputs across every command, and what must happen.

Each ``Case`` is a command line (or a library call) with placeholders, an optional setup that
writes the files it needs, and what must come out: ``error`` (a regex the one-line message must
match; exit code 2, no traceback) or ``ok`` (exit code 0 and a ``check`` on the result). It is
shared by ``tests/test_bad_inputs.py`` and ``probe_bad_inputs.py``, which counts outcomes on any
checkout (``clear`` / ``misleading`` / ``traceback`` / ``silent``), so it imports nothing of
textxfer at module level.

Placeholders: ``{data}`` a 20/8/8-row sentiment folder, ``{bert}`` a tiny BERT, ``{tmp}`` the case's
own folder, ``{w}`` the folder its setup wrote (the same as ``{tmp}``).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ftutil


@dataclass
class Case:
    """One bad input and what must happen."""

    id: str
    argv: list[str] | None = None  # a command line (placeholders allowed)
    error: str | None = None  # regex of the one-line message (exit 2)
    ok: Callable[[dict], bool] | None = None  # check of a run that must succeed
    setup: Callable[[Path, dict], None] | None = None
    call: Callable[[dict], Any] | None = None  # a library call instead of a command line
    hide: tuple[str, ...] = ()  # packages made unimportable for the case
    kind: str = "error"  # error | ok | loss (data loss) | code (code execution)
    tags: tuple[str, ...] = field(default_factory=tuple)


@dataclass
class Outcome:
    """What one case did."""

    rc: int | None
    out: str
    err: str
    exc: BaseException | None = None
    checked: bool | None = None

    @property
    def error_line(self) -> str:
        lines = [ln for ln in self.err.splitlines() if ln.strip()]
        errors = [ln for ln in lines if re.match(r"^\S+( \S+)?: error: ", ln)]
        return (errors or lines or [""])[-1]


# ------------------------------------------------------------------------------- file helpers
def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def rows_csv(rows, sep: str = ",", header: str = "text{sep}label") -> str:
    lines = [header.format(sep=sep)] + [f"{t}{sep}{lab}" for t, lab in rows]
    return "\n".join(lines) + "\n"


def tiny_rows() -> list[tuple[str, str]]:
    return ftutil.rows()


def folder_with(files: dict[str, str | bytes]):
    """A setup that writes ``files`` (relative to the case folder)."""

    def setup(tmp: Path, fx: dict) -> None:
        for name, text in files.items():
            write(tmp / name, text)

    return setup


def user_folder(tmp: Path, fx: dict) -> None:
    """A folder holding a user's own file (what ``--out`` must never delete)."""
    write(tmp / "precious" / "thesis.txt", "years of work\n")


def user_file(tmp: Path, fx: dict) -> None:
    write(tmp / "notes.txt", "my notes\n")


def run_folder(tmp: Path, fx: dict) -> None:
    """A textxfer run folder (``data sample``) at ``{tmp}/run``."""
    from textxfer.cli import main

    with _quiet():
        assert main(["data", "sample", fx["data"], "--k", "2", "--out", str(tmp / "run")]) == 0


def _kept(name: str, text: str) -> Callable[[dict], bool]:
    return lambda fx: (Path(fx["tmp"]) / name).read_text() == text


def _json_out(fx: dict) -> dict:
    return json.loads(fx["stdout"])


def labelled(*rows: tuple[str, str]) -> str:
    return rows_csv(list(rows) * 4)


def relabel(mapping: dict[str, list[str]]) -> str:
    """The tiny rows with the label of each row replaced, cycling through ``mapping``."""
    cycle = {lab: iter(v * 100) for lab, v in mapping.items()}
    return rows_csv([(t, next(cycle[lab])) for t, lab in tiny_rows()])


def checkpoint_run(tmp: Path, fx: dict) -> None:
    """A killed fine-tuning run's checkpoints at ``{tmp}/ck`` (2 steps, lr 3e-3)."""
    from textxfer.cli import main

    argv = ["finetune", fx["data"], "--model", fx["bert"], "--max-steps", "2", "--batch-size", "4",
            "--eval-strategy", "no", "--save-strategy", "steps", "--save-steps", "1",
            "--progress-bar", "false", "--lr", "3e-3", "--checkpoint-dir", str(tmp / "ck")]  # fmt: skip
    with _quiet():
        assert main(argv) == 0


def pickle_baseline(tmp: Path, fx: dict) -> None:
    """A crafted 'baseline' folder whose pipeline file is a pickle that writes a file when loaded."""
    import pickle

    class Exploit:
        def __reduce__(self):
            return (Path.write_text, (tmp / "pwned", "code ran"))

    folder = tmp / "evil"
    folder.mkdir()
    (folder / "pipeline.joblib").write_bytes(pickle.dumps(Exploit()))
    (folder / "pipeline.skops").write_bytes(pickle.dumps(Exploit()))
    marker = {"kind": "baseline", "method": "tfidf-lr", "label_names": ["a", "b"],
              "pipeline": "pipeline.joblib", "encoder": None}  # fmt: skip
    write(folder / "textxfer.json", json.dumps(marker))


def escaping_marker(tmp: Path, fx: dict) -> None:
    """A baseline folder whose marker points its pipeline file outside the folder."""
    pickle_baseline(tmp, fx)
    (tmp / "evil" / "pipeline.joblib").rename(tmp / "outside.joblib")
    marker = json.loads((tmp / "evil" / "textxfer.json").read_text())
    write(tmp / "evil" / "textxfer.json", json.dumps({**marker, "pipeline": "../outside.joblib"}))


def augmented_folder(tmp: Path, fx: dict) -> None:
    from textxfer.cli import main

    argv = ["augment", fx["data"], "--recipe", "swap", "--n-aug", "1", "--out", str(tmp / "aug")]
    with _quiet():
        assert main(argv) == 0


def escape_root(tmp: Path, fx: dict) -> dict:
    """A dataset outside $TEXTXFER_DATASETS and a name that reaches it: ``sst2/../../...``."""
    import os

    write(tmp / "x" / "train.csv", rows_csv(tiny_rows()))
    root = Path(os.environ["TEXTXFER_DATASETS"]).resolve()
    return {"escape": "sst2/" + os.path.relpath(tmp / "x", root / "sst2")}


def baseline_run(tmp: Path, fx: dict) -> None:
    """A fitted tfidf-lr baseline at ``{tmp}/model``."""
    from textxfer.cli import main

    with _quiet():
        assert main(["baseline", fx["data"], "--out", str(tmp / "model")]) == 0


def skops_untrusted(tmp: Path, fx: dict) -> None:
    """A baseline folder whose skops file holds a function textxfer does not trust (os.system)."""
    import os

    import skops.io as sio
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    folder = tmp / "evil"
    folder.mkdir()
    sio.dump(Pipeline([("f", FunctionTransformer(os.system))]), folder / "pipeline.skops")
    marker = {"kind": "baseline", "method": "tfidf-lr", "label_names": ["a", "b"],
              "pipeline": "pipeline.skops", "encoder": None}  # fmt: skip
    write(folder / "textxfer.json", json.dumps(marker))


def fake_wordnet_and_user_folder(tmp: Path, fx: dict) -> None:
    """A WordNet source (empty files of the right names) and a user folder as the target."""
    from textxfer.augment.wordnet import WORDNET_FILES

    for name in WORDNET_FILES:
        write(tmp / "wn-source" / name, "")
    user_folder(tmp, fx)


def no_pwned(fx: dict) -> bool:
    return not (Path(fx["tmp"]) / "pwned").exists()


BAD_UTF8 = "caf\u00e9 au lait is nice\n".encode("latin-1") * 5

# ------------------------------------------------------------------------------------- cases
D = "{data}"
# fmt: off
CASES: list[Case] = [
    # --- data: dataset names, files, folders, columns, labels --------------------------------
    Case("data-empty-name", ["data", "show", ""], r"no dataset given"),
    Case("data-name-escapes-root", ["data", "show", "{escape}"], r"outside .*TEXTXFER_DATASETS",
         setup=escape_root, tags=("shared",)),
    Case("data-name-dotdot", ["data", "show", "../x"], r"not found|outside"),
    Case("data-missing", ["data", "show", "{tmp}/nope"], r"not found"),
    Case("data-only-test", ["data", "show", "{tmp}"], r"no train split",
         setup=folder_with({"test.csv": rows_csv(tiny_rows())})),
    Case("data-only-dev", ["data", "show", "{tmp}"], r"no train split",
         setup=folder_with({"dev.csv": rows_csv(tiny_rows())})),
    Case("data-no-files", ["data", "show", "{tmp}"], r"no data files",
         setup=folder_with({"readme.md": "hi"})),
    Case("data-bad-extension", ["data", "show", "{tmp}/d.xlsx"], r"extension",
         setup=folder_with({"d.xlsx": "x"})),
    Case("data-empty-file", ["data", "show", "{tmp}/d.csv"], r"is empty",
         setup=folder_with({"d.csv": ""})),
    Case("data-header-only", ["data", "show", "{tmp}/d.csv"], r"no data rows",
         setup=folder_with({"d.csv": "text,label\n"})),
    Case("data-not-utf8", ["data", "show", "{tmp}/d.csv"], r"not valid UTF-8",
         setup=folder_with({"d.csv": b"text,label\n" + b"caf\xe9,a\n" * 10})),
    Case("data-bad-json", ["data", "show", "{tmp}/d.json"], r"could not parse",
         setup=folder_with({"d.json": "[{oops"})),
    Case("data-missing-label-column", ["data", "show", D, "--label-column", "sentiment"],
         r"expected columns .*sentiment"),
    Case("data-missing-text-column", ["data", "show", D, "--text-column", "body"],
         r"expected columns .*body"),
    Case("data-text-is-label", ["data", "show", D, "--text-column", "label"],
         r"text column.*label column|same column"),
    Case("data-text-list-has-label", ["data", "show", D, "--text-column", "[text,label]"],
         r"text column.*label column|same column"),
    Case("data-single-class", ["data", "show", "{tmp}/d.csv"], r"single class",
         setup=folder_with({"d.csv": rows_csv([(t, "x") for t, _ in tiny_rows()])})),
    Case("data-all-empty-text", ["data", "show", "{tmp}/d.csv"], r"empty or null",
         setup=folder_with({"d.csv": "text,label\n,a\n,b\n"})),
    Case("data-k-abc", ["data", "show", D, "--k", "abc"], r"'k'.*expects an integer"),
    Case("data-k-zero", ["data", "show", D, "--k", "0"], r"k must be a positive"),
    Case("data-k-too-large", ["data", "show", D, "--k", "50"], r"k=50.*fewer rows"),
    Case("data-limit-float", ["data", "show", D, "--limit", "2.5"], r"'limit'.*integer"),
    Case("data-test-size", ["data", "show", "{tmp}/d.csv", "--test-size", "1.5"],
         r"test_size must be a fraction", setup=folder_with({"d.csv": rows_csv(tiny_rows())})),
    Case("data-dev-size-zero", ["data", "show", D, "--dev-size", "0"], r"dev_size"),
    Case("data-label-names-dup", ["data", "show", D, "--label-names", "a,a"], r"duplicates"),
    Case("data-label-names-two", ["data", "show", D, "--label-names", "bad,good"],
         r"never occur in label_names.*known: \['bad', 'good'\]"),
    Case("data-config-missing", ["data", "show", D, "--config", "{tmp}/none.yaml"], r"not found"),
    Case("data-config-list", ["data", "show", D, "--config", "{tmp}/c.yaml"], r"mapping",
         setup=folder_with({"c.yaml": "- a\n- b\n"})),
    Case("data-config-typo", ["data", "show", D, "--config", "{tmp}/c.yaml"],
         r"unknown option 'lable_column'.*did you mean", setup=folder_with({"c.yaml": "lable_column: y\n"})),
    Case("data-config-bad-yaml", ["data", "show", D, "--config", "{tmp}/c.yaml"], r"not valid YAML \(.* at line 2",
         setup=folder_with({"c.yaml": "a: [1, 2\n"})),
    Case("data-target-other-labels", ["data", "show", D, "--target", "{tmp}/t.csv"],
         r"labels .* never uses|same label set",
         setup=folder_with({"t.csv": relabel({"positive": ["x"], "negative": ["y"]})})),
    # silent wrong results that must now be right
    Case("labels-numeric-forms", ["data", "show", "{tmp}/d.csv", "--json"], kind="ok",
         setup=folder_with({"d.csv": relabel({"positive": ["1", "1.0", " 1"], "negative": ["0", "0.0"]})}),
         ok=lambda fx: sorted(_json_out(fx)["train"]["labels"]) == ["0", "1"]),
    Case("labels-nan-dropped", ["data", "show", "{tmp}/d.csv", "--json"], kind="ok",
         setup=folder_with({"d.csv": relabel({"positive": ["pos", "NaN"], "negative": ["neg", "nan"]})}),
         ok=lambda fx: sorted(_json_out(fx)["train"]["labels"]) == ["neg", "pos"]),
    Case("labels-sorted-not-row-order", ["data", "show", "{tmp}/d.csv", "--json"], kind="ok",
         setup=folder_with({"d.csv": relabel({"positive": ["zebra"], "negative": ["apple"]})}),
         ok=lambda fx: list(_json_out(fx)["train"]["labels"]) == ["apple", "zebra"]),
    Case("sst2-negative-is-0", ["data", "show", "sst2", "--json", "--limit", "50"], kind="ok",
         ok=lambda fx: list(_json_out(fx)["test"]["labels"]) == ["negative", "positive"],
         tags=("shared",)),
    Case("csv-semicolon", ["data", "show", "{tmp}/d.csv", "--json"], kind="ok",
         setup=folder_with({"d.csv": rows_csv(tiny_rows(), sep=";")}),
         ok=lambda fx: _json_out(fx)["train"]["rows"] > 0),
    Case("csv-tab", ["data", "show", "{tmp}/d.csv", "--json"], kind="ok",
         setup=folder_with({"d.csv": rows_csv(tiny_rows(), sep="\t")}),
         ok=lambda fx: _json_out(fx)["train"]["rows"] > 0),
    Case("label-names-list", ["data", "show", D, "--json", "--label-names", "positive,negative"],
         kind="ok", ok=lambda fx: list(_json_out(fx)["train"]["labels"]) == ["positive", "negative"]),
    # --- data sample --out: nothing is lost -------------------------------------------------
    Case("sample-out-user-folder", ["data", "sample", D, "--k", "2", "--out", "{tmp}/precious"],
         r"not a textxfer run folder|files textxfer did not write", setup=user_folder, kind="loss",
         ok=_kept("precious/thesis.txt", "years of work\n")),
    Case("sample-out-user-folder-overwrite",
         ["data", "sample", D, "--k", "2", "--out", "{tmp}/precious", "--overwrite"],
         r"not a textxfer run folder|files textxfer did not write", setup=user_folder, kind="loss",
         ok=_kept("precious/thesis.txt", "years of work\n")),
    Case("sample-out-file", ["data", "sample", D, "--k", "2", "--out", "{tmp}/notes.txt"],
         r"is a file", setup=user_file, kind="loss", ok=_kept("notes.txt", "my notes\n")),
    Case("sample-out-is-input", ["data", "sample", "{tmp}/run", "--k", "1", "--out", "{tmp}/run"],
         r"input", setup=run_folder, kind="loss"),
    Case("sample-out-inside-input", ["data", "sample", "{tmp}/d", "--k", "1", "--out", "{tmp}/d/few"],
         r"input", setup=folder_with({"d/train.csv": rows_csv(tiny_rows())}), kind="loss"),
    Case("sample-out-empty", ["data", "sample", D, "--k", "2", "--out", ""], r"--out is empty"),
    Case("sample-out-run-no-overwrite", ["data", "sample", D, "--k", "3", "--out", "{tmp}/run"],
         r"--overwrite", setup=run_folder, kind="loss"),
    Case("sample-out-run-overwrite", ["data", "sample", D, "--k", "3", "--out", "{tmp}/run", "--overwrite"],
         kind="ok", setup=run_folder,
         ok=lambda fx: (Path(fx["tmp"]) / "run" / "train.csv").read_text().count("\n") == 7),
    # --- augment ----------------------------------------------------------------------------
    Case("augment-unknown-recipe", ["augment", D, "--recipe", "nope", "--out", "{tmp}/a"],
         r"unknown recipe|not found"),
    Case("augment-recipe-bad-yaml", ["augment", D, "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/a"],
         r"not valid YAML: .* at line", setup=folder_with({"r.yaml": "ops: [{op: swap}\n"})),
    Case("augment-n-aug-negative", ["augment", D, "--n-aug", "-1", "--out", "{tmp}/a"], r"n_aug"),
    Case("augment-alpha", ["augment", D, "--alpha", "2", "--out", "{tmp}/a"], r"alpha must be"),
    Case("augment-num-proc", ["augment", D, "--num-proc", "0", "--out", "{tmp}/a"], r"num_proc"),
    Case("augment-again", ["augment", "{tmp}/aug", "--recipe", "swap", "--out", "{tmp}/aug2"],
         r"already augmented", setup=augmented_folder),
    Case("augment-out-user-folder", ["augment", D, "--recipe", "swap", "--n-aug", "1", "--out", "{tmp}/precious"],
         r"not a textxfer run folder|files textxfer did not write", setup=user_folder, kind="loss",
         ok=_kept("precious/thesis.txt", "years of work\n")),
    Case("augment-w2v-pickle", ["augment", D, "--recipe", "eda_w2v", "--w2v-model", "{tmp}/v.kv", "--out", "{tmp}/a"],
         r"pickle", setup=folder_with({"v.kv": "x"}), kind="code"),
    Case("augment-w2v-missing", ["augment", D, "--recipe", "eda_w2v", "--w2v-model", "{tmp}/v.bin", "--out", "{tmp}/a"],
         r"not found"),
    Case("augment-no-nlpaug", ["augment", D, "--recipe", "eda_nlpaug", "--out", "{tmp}/a", "--use-cache", "false"],
         r"textxfer\[aug\]", hide=("nlpaug",)),
    Case("augment-mlm-missing", ["augment", D, "--recipe", "mlm", "--mlm-model", "{tmp}/nomodel", "--out", "{tmp}/a"],
         r"not found|no such|does not exist"),
    Case("augment-out-empty", ["augment", D, "--recipe", "swap", "--out", ""], r"--out is empty"),
    # --- baseline ---------------------------------------------------------------------------
    Case("baseline-unknown-method", ["baseline", D, "--method", "nope", "--out", "{tmp}/b"],
         r"unknown baseline method 'nope'"),
    Case("baseline-empty-method", ["baseline", D, "--method", ",", "--out", "{tmp}/b"], r"--method is empty"),
    Case("baseline-min-df", ["baseline", D, "--min-df", "1000", "--out", "{tmp}/b"], r"min_df.*1000.*20"),
    Case("baseline-min-df-prunes-all", ["baseline", D, "--min-df", "20", "--out", "{tmp}/b"],
         r"min_df.*no term|no terms"),
    Case("baseline-ngram-range", ["baseline", D, "--ngram-range", "[2,1]", "--out", "{tmp}/b"], r"ngram_range"),
    Case("baseline-C-abc", ["baseline", D, "--C", "abc", "--out", "{tmp}/b"], r"'C'.*expects a number"),
    Case("baseline-class-weight", ["baseline", D, "--class-weight", "heavy", "--out", "{tmp}/b"], r"class_weight"),
    Case("baseline-eval-split-train", ["baseline", D, "--eval-split", "train", "--out", "{tmp}/b"],
         r"invalid choice: 'train'"),
    Case("baseline-w2v-pickle", ["baseline", D, "--method", "w2v-lr", "--w2v-vectors", "{tmp}/v.kv", "--out", "{tmp}/b"],
         r"pickle", setup=folder_with({"v.kv": "x"}), kind="code"),
    Case("baseline-no-gensim", ["baseline", D, "--method", "w2v-lr", "--out", "{tmp}/b"],
         r"textxfer\[w2v\]", hide=("gensim",)),
    Case("baseline-max-length", ["baseline", D, "--method", "features-lr", "--model", "{bert}",
         "--max-length", "100000", "--out", "{tmp}/b"], r"max_length 100000.*128"),
    Case("baseline-augmented-again", ["baseline", "{tmp}/aug", "--augment", "swap", "--out", "{tmp}/b"],
         r"already augmented", setup=augmented_folder),
    Case("baseline-out-user-folder", ["baseline", D, "--out", "{tmp}/precious"],
         r"not a textxfer run folder|files textxfer did not write", setup=user_folder, kind="loss",
         ok=_kept("precious/thesis.txt", "years of work\n")),
    Case("baseline-out-file", ["baseline", D, "--out", "{tmp}/notes.txt"], r"is a file",
         setup=user_file, kind="loss", ok=_kept("notes.txt", "my notes\n")),
    Case("baseline-out-is-dataset", ["baseline", "{tmp}/run", "--out", "{tmp}/run"], r"input",
         setup=run_folder, kind="loss"),
    Case("baseline-out-empty", ["baseline", D, "--out", ""], r"--out is empty"),
    Case("baseline-text-is-label", ["baseline", D, "--text-column", "label", "--out", "{tmp}/b"],
         r"text column.*label column|same column"),
    # --- finetune ---------------------------------------------------------------------------
    Case("finetune-model-missing", ["finetune", D, "--model", "{tmp}/nomodel", "--out", "{tmp}/f"], r"not found"),
    Case("finetune-model-not-model", ["finetune", D, "--model", D, "--out", "{tmp}/f"], r"no config.json"),
    Case("finetune-epochs-abc", ["finetune", D, "--epochs", "abc"], r"'epochs'.*expects an integer"),
    Case("finetune-yaml-epochs-abc", ["finetune", D, "--config", "{tmp}/c.yaml"], r"'epochs'.*expects an integer",
         setup=folder_with({"c.yaml": 'train:\n  epochs: "abc"\n'})),
    Case("finetune-lr-negative", ["finetune", D, "--lr", "-1"], r"lr must be > 0"),
    Case("finetune-momentum", ["finetune", D, "--optimizer", "sgd", "--momentum", "2"], r"momentum"),
    Case("finetune-resume-word", ["finetune", D, "--resume", "maybe"], r"resume"),
    Case("finetune-max-length", ["finetune", D, "--model", "{bert}", "--max-length", "100000", "--out", "{tmp}/f"],
         r"max_length 100000.*128"),
    Case("finetune-default-max-length", ["finetune", D, "--max-length", "1000", "--out", "{tmp}/f"],
         r"max_length 1000.*512"),
    Case("finetune-resume-force", ["finetune", D, "--model", "{bert}", "--max-steps", "3", "--batch-size", "4",
         "--eval-strategy", "no", "--save-strategy", "steps", "--save-steps", "1", "--progress-bar", "false",
         "--lr", "1e-3", "--checkpoint-dir", "{tmp}/ck", "--resume", "force", "--out", "{tmp}/f"],
         kind="ok", setup=checkpoint_run, ok=lambda fx: (Path(fx["tmp"]) / "f" / "textxfer.json").is_file()),
    Case("finetune-class-weights", ["finetune", D, "--model", "{bert}", "--class-weights", "[1,2,3]",
         "--max-steps", "1", "--out", "{tmp}/f"], r"class_weights"),
    Case("finetune-lora-targets", ["finetune", D, "--model", "{bert}", "--lora", "--lora-target-modules", "[nope]",
         "--max-steps", "1", "--out", "{tmp}/f"], r"lora_target_modules"),
    Case("finetune-no-peft", ["finetune", D, "--model", "{bert}", "--lora", "--max-steps", "1", "--out", "{tmp}/f"],
         r"peft.*textxfer\[", hide=("peft",)),
    Case("finetune-no-tensorboard", ["finetune", D, "--model", "{bert}", "--report-to", "tensorboard",
         "--max-steps", "1", "--out", "{tmp}/f"], r"tensorboard.*textxfer\[tracking\]",
         hide=("tensorboard", "tensorboardX", "torch.utils.tensorboard")),
    Case("finetune-lora-option-without-lora", ["finetune", D, "--model", "{bert}", "--lora-r", "16", "--out", "{tmp}/f"],
         r"--lora-r set the LoRA adapter, but LoRA is off"),
    Case("finetune-out-user-folder", ["finetune", D, "--model", "{bert}", "--max-steps", "1", "--out", "{tmp}/precious"],
         r"not a textxfer run folder|files textxfer did not write", setup=user_folder, kind="loss",
         ok=_kept("precious/thesis.txt", "years of work\n")),
    Case("finetune-out-is-model", ["finetune", D, "--model", "{tmp}/m", "--max-steps", "1", "--out", "{tmp}/m"],
         r"input", setup=lambda tmp, fx: ftutil.make_bert(tmp / "m"), kind="loss"),
    Case("finetune-out-empty", ["finetune", D, "--model", "{bert}", "--max-steps", "1", "--out", ""], r"--out is empty"),
    Case("finetune-text-is-label", ["finetune", D, "--text-column", "label"], r"text column.*label column|same column"),
    Case("finetune-resume-mismatch", ["finetune", D, "--model", "{bert}", "--max-steps", "3", "--batch-size", "4",
         "--eval-strategy", "no", "--save-strategy", "steps", "--save-steps", "1", "--progress-bar", "false",
         "--lr", "1e-3", "--checkpoint-dir", "{tmp}/ck", "--resume", "true", "--out", "{tmp}/f"],
         r"(other|different) (data|settings).*--resume force", setup=checkpoint_run),
    # --- adapt ------------------------------------------------------------------------------
    Case("adapt-txt-not-utf8", ["adapt", "{tmp}/t.txt", "--model", "{bert}", "--out", "{tmp}/a"],
         r"not valid UTF-8", setup=folder_with({"t.txt": BAD_UTF8})),
    Case("adapt-txt-empty", ["adapt", "{tmp}/t.txt", "--model", "{bert}", "--out", "{tmp}/a"],
         r"at least 2|is empty", setup=folder_with({"t.txt": "\n\n"})),
    Case("adapt-txt-target", ["adapt", "{tmp}/t.txt", "--target", D, "--model", "{bert}", "--out", "{tmp}/a"],
         r"--target .* needs a dataset", setup=folder_with({"t.txt": "a b\nc d\n"})),
    Case("adapt-txt-k", ["adapt", "{tmp}/t.txt", "--k", "2", "--model", "{bert}", "--out", "{tmp}/a"],
         r"--k .*text file|apply to a dataset", setup=folder_with({"t.txt": "a b\nc d\ne f\n"})),
    Case("adapt-txt-limit", ["adapt", "{tmp}/t.txt", "--limit", "2", "--model", "{bert}", "--out", "{tmp}/a"],
         r"--limit .*text file|apply to a dataset", setup=folder_with({"t.txt": "a b\nc d\ne f\n"})),
    Case("adapt-max-length", ["adapt", D, "--model", "{bert}", "--max-length", "100000", "--out", "{tmp}/a"],
         r"max_length 100000.*128"),
    Case("adapt-mlm-probability", ["adapt", D, "--mlm-probability", "1.5", "--out", "{tmp}/a"], r"mlm_probability"),
    Case("adapt-model-not-model", ["adapt", D, "--model", D, "--out", "{tmp}/a"], r"no config.json"),
    Case("adapt-out-user-folder", ["adapt", D, "--model", "{bert}", "--max-steps", "1", "--out", "{tmp}/precious"],
         r"not a textxfer run folder|files textxfer did not write", setup=user_folder, kind="loss",
         ok=_kept("precious/thesis.txt", "years of work\n")),
    Case("adapt-out-empty", ["adapt", D, "--model", "{bert}", "--out", ""], r"--out is empty|pass --out DIR"),
    # --- predict ----------------------------------------------------------------------------
    Case("predict-not-a-model", ["predict", "{tmp}", "--text", "hi"], r"not a textxfer model folder"),
    Case("predict-adapted-run", ["predict", "{tmp}", "--text", "hi"], r"'adapted'.*predicts no labels",
         setup=folder_with({"textxfer.json": '{"kind": "adapted"}'})),
    Case("predict-dataset-run", ["predict", "{tmp}/run", "--text", "hi"], r"'dataset'.*predicts no labels",
         setup=run_folder),
    Case("predict-nothing", ["predict", "{tmp}/evil"], r"nothing to label", setup=pickle_baseline),
    Case("predict-no-model-dir", ["predict", "--text", "hi"], r"pass the model folder"),
    Case("predict-input-missing", ["predict", "{tmp}/evil", "--input", "{tmp}/none.csv"],
         r"not found", setup=pickle_baseline),
    Case("predict-pickle-runs-no-code", ["predict", "{tmp}/evil", "--text", "hi"],
         r"pickle|older textxfer|not trusted", setup=pickle_baseline, kind="code", ok=no_pwned),
    Case("predict-marker-escapes", ["predict", "{tmp}/evil", "--text", "hi"],
         r"outside|pickle|older textxfer", setup=escaping_marker, kind="code", ok=no_pwned),
    Case("predict-out-file-exists", ["predict", "{tmp}/model", "--text", "hi", "--out", "{tmp}/notes.txt"],
         r"exists.*--overwrite", setup=lambda tmp, fx: (user_file(tmp, fx), baseline_run(tmp, fx)),
         kind="loss", ok=_kept("notes.txt", "my notes\n")),
    Case("predict-out-is-folder", ["predict", "{tmp}/model", "--text", "hi", "--out", "{tmp}/precious"],
         r"is a folder", setup=lambda tmp, fx: (user_folder(tmp, fx), baseline_run(tmp, fx)),
         kind="loss", ok=_kept("precious/thesis.txt", "years of work\n")),
    Case("predict-input-no-column", ["predict", "{tmp}/model", "--input", "{tmp}/in.csv"],
         r"expected a column 'text'", setup=lambda tmp, fx: (baseline_run(tmp, fx),
                                                            write(tmp / "in.csv", "body\nhi\n"))),
    Case("predict-skops-untrusted", ["predict", "{tmp}/evil", "--text", "hi"],
         r"not trust|untrusted", setup=skops_untrusted, kind="code"),
    Case("predict-baseline-no-pipeline", ["predict", "{tmp}/model", "--text", "hi"],
         r"missing|incomplete", setup=lambda tmp, fx: (baseline_run(tmp, fx),
                                                       [p.unlink() for p in (tmp / "model").glob("pipeline*")])),
    Case("predict-finetune-incomplete", ["predict", "{tmp}", "--text", "hi"], r"missing|incomplete",
         setup=folder_with({"textxfer.json": '{"kind": "finetune", "label_names": ["a", "b"]}'})),
    # --- compare ----------------------------------------------------------------------------
    Case("compare-no-dataset", ["compare", "--out", "{tmp}/c"], r"no dataset given"),
    Case("compare-empty-dataset", ["compare", "", "--out", "{tmp}/c"], r"no dataset given"),
    Case("compare-unknown-method", ["compare", D, "--methods", "[nope]", "--out", "{tmp}/c"], r"unknown method 'nope'"),
    Case("compare-size-too-large", ["compare", D, "--sizes", "[1000]", "--out", "{tmp}/c"],
         r"size 1000.*20 rows"),
    Case("compare-per-class-too-large", ["compare", D, "--sizes", "[50/class]", "--out", "{tmp}/c"],
         r"50/class.*10"),
    Case("compare-eval-train", ["compare", D, "--eval-split", "train", "--out", "{tmp}/c"], r"eval_split must be dev or test"),
    Case("compare-yaml-eval-train", ["compare", D, "--config", "{tmp}/grid.yaml", "--out", "{tmp}/c"],
         r"eval_split must be dev or test", setup=folder_with({"grid.yaml": "eval_split: train\n"})),
    Case("compare-option-typo", ["compare", D, "--options", "{tfidf-lr: {CC: 2}}", "--out", "{tmp}/c"],
         r"unknown option 'CC'.*did you mean 'C'"),
    Case("compare-options-stray", ["compare", D, "--options", "{bow-lr: {C: 2}}", "--out", "{tmp}/c"],
         r"not in methods"),
    Case("compare-bad-size", ["compare", D, "--sizes", "[lots]", "--out", "{tmp}/c"], r"not understood"),
    Case("compare-n-aug-zero", ["compare", D, "--n-aug", "0", "--out", "{tmp}/c"], r"n_aug must be"),
    Case("compare-empty-seeds", ["compare", D, "--seeds", "[]", "--out", "{tmp}/c"], r"seeds is empty"),
    Case("compare-out-user-folder", ["compare", D, "--out", "{tmp}/precious"],
         r"not a textxfer run folder|files textxfer did not write", setup=user_folder, kind="loss",
         ok=_kept("precious/thesis.txt", "years of work\n")),
    Case("compare-out-empty", ["compare", D, "--out", ""], r"--out is empty"),
    Case("compare-augmented-again", ["compare", "{tmp}/aug", "--augment", "[swap]", "--out", "{tmp}/c"],
         r"already augmented", setup=augmented_folder),
    Case("compare-unknown-recipe", ["compare", D, "--augment", "[../../x]", "--out", "{tmp}/c"],
         r"recipe"),
    # --- crossdomain ------------------------------------------------------------------------
    Case("crossdomain-bad-pair", ["crossdomain", "books", "--out", "{tmp}/x"], r"not understood"),
    Case("crossdomain-same-pair", ["crossdomain", "books->books", "--out", "{tmp}/x"], r"two different"),
    Case("crossdomain-no-adaptation", ["crossdomain", "books->dvd", "--methods", "[adapt-finetune]",
         "--out", "{tmp}/x"], r"no cross-domain adaptation"),
    Case("crossdomain-out-user-folder", ["crossdomain", "{tmp}/s->{tmp}/t", "--methods", "[tfidf-lr]",
         "--out", "{tmp}/precious"], r"not a textxfer run folder|files textxfer did not write",
         setup=lambda tmp, fx: (user_folder(tmp, fx), write(tmp / "s" / "train.csv", rows_csv(tiny_rows())),
                                write(tmp / "t" / "train.csv", rows_csv(tiny_rows()))),
         kind="loss", ok=_kept("precious/thesis.txt", "years of work\n")),
    Case("crossdomain-option-typo", ["crossdomain", "books->dvd", "--methods", "[tfidf-lr]",
         "--options", "{tfidf-lr: {min_dff: 2}}", "--out", "{tmp}/x"], r"unknown option 'min_dff'"),
    # --- wordnet ----------------------------------------------------------------------------
    Case("wordnet-bad-source", ["wordnet", "setup", "--source", "{tmp}/none", "--target", "{tmp}/wn"],
         r"not found|lacks"),
    Case("wordnet-target-user-folder", ["wordnet", "setup", "--source", "{tmp}/wn-source", "--target", "{tmp}/precious"],
         r"--target .*files textxfer did not write", setup=fake_wordnet_and_user_folder, kind="loss",
         ok=_kept("precious/thesis.txt", "years of work\n")),
    # --- library calls ----------------------------------------------------------------------
    Case("lib-evaluate-unknown-id", call=lambda fx: _evaluate([0, 5], [0, 1], ["a", "b"]),
         error=r"label id.*5.*2 label names|outside"),
    Case("lib-evaluate-negative-id", call=lambda fx: _evaluate([0, 1], [0, -1], ["a", "b"]),
         error=r"label id.*-1|outside"),
    Case("lib-load-data-empty", call=lambda fx: _load_data(""), error=r"no dataset given"),
    Case("lib-load-data-escape", call=lambda fx: _load_data("sst2/../../x"),
         error=r"outside|leave|not found"),
    Case("lib-finetuned-one-string", call=lambda fx: _finetuned_predict(fx, "a great film"),
         error=r"single string|list of texts"),
]
# fmt: on


def _evaluate(*args):
    from textxfer.metrics import evaluate

    return evaluate(*args)


def _load_data(name):
    from textxfer.data import load_data

    return load_data(name)


def _finetuned_predict(fx: dict, texts):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from textxfer.finetune.io import FinetunedPredictor

    tokenizer = AutoTokenizer.from_pretrained(fx["bert"])
    model = AutoModelForSequenceClassification.from_pretrained(fx["bert"], num_labels=2)
    return FinetunedPredictor(model, tokenizer, ["negative", "positive"]).predict(texts)


# ------------------------------------------------------------------------------------ running
def fill(value: str, fx: dict) -> str:
    for key, sub in fx.items():
        if isinstance(sub, str):
            value = value.replace("{" + key + "}", sub)
    return value


@contextlib.contextmanager
def _quiet():
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


@contextlib.contextmanager
def hidden(packages: tuple[str, ...]):
    """Make ``packages`` (and their submodules) unimportable inside the block."""
    saved = {}
    for name in list(sys.modules):
        if any(name == p or name.startswith(p + ".") for p in packages):
            saved[name] = sys.modules[name]
    for name in {*packages, *saved}:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in {*packages, *saved}:
            del sys.modules[name]
        sys.modules.update(saved)


def run_case(case: Case, fx: dict, tmp: Path) -> Outcome:
    """Run one case in this process; never raises (an escaping exception is the outcome)."""
    from textxfer.cli import main

    fx = {**fx, "tmp": str(tmp)}
    if case.setup is not None:
        extra = case.setup(tmp, fx)
        if isinstance(extra, dict):
            fx.update(extra)
    out, err = io.StringIO(), io.StringIO()
    rc, exc = None, None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), hidden(case.hide):
        try:
            if case.call is not None:
                case.call(fx)
                rc = 0
            else:
                rc = main([fill(a, fx) for a in case.argv])
        except SystemExit as stop:  # argparse
            rc = stop.code if isinstance(stop.code, int) else 2
        except Exception as error:  # noqa: BLE001 - the outcome under test
            from textxfer.errors import TextxferError

            if case.call is not None and isinstance(error, TextxferError):
                rc, err = 2, io.StringIO(f"textxfer: error: {error}")
            else:
                exc = error
    outcome = Outcome(rc, out.getvalue(), err.getvalue(), exc)
    if case.ok is not None and (exc is None or case.kind != "ok"):  # lost data counts anyway
        try:
            outcome.checked = bool(case.ok({**fx, "stdout": outcome.out}))
        except Exception:  # noqa: BLE001 - a failed check is a wrong result
            outcome.checked = False
    return outcome


def classify(case: Case, outcome: Outcome) -> str:
    """``clear`` / ``misleading`` / ``traceback`` / ``silent`` (ran, or data or code lost)."""
    if outcome.checked is False and case.kind != "ok":  # data lost or code ran
        return "silent"
    if outcome.exc is not None or "Traceback" in outcome.err:
        return "traceback"
    if case.kind == "ok":
        if outcome.rc == 0:
            return "clear" if outcome.checked else "silent"
        return "misleading"
    if outcome.rc == 2:
        return "clear" if re.search(case.error or "", outcome.error_line) else "misleading"
    return "silent" if outcome.rc == 0 else "misleading"  # 1: every cell failed, not refused


def make_fixtures(root: Path) -> dict:
    """The shared tiny data folder and tiny BERT under ``root``."""
    return {
        "data": str(ftutil.write_data(root / "data")),
        "bert": str(ftutil.make_bert(root / "bert")),
    }
