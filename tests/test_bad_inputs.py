"""Trust: the bad-input corpus (every command: exit 2, one message, no traceback) and the data-loss,
code-execution and silent-wrong cases that need more than one command line.

The corpus itself is ``tests/scripts/bad_inputs.py``; ``tests/scripts/probe_bad_inputs.py`` counts
its outcomes on any checkout (before/after numbers).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import stat
import subprocess
import sys
from pathlib import Path

import bad_inputs
import ftutil
import pytest

from textxfer.cli import main
from textxfer.errors import OutputError
from textxfer.io import prepare_output, release_output, save_run

CASES = {case.id: case for case in bad_inputs.CASES}


@pytest.fixture(scope="module")
def fx(data_dir, bert) -> dict:
    return {"data": str(data_dir), "bert": str(bert)}


def test_the_corpus_is_large_and_covers_every_command():
    commands = {c.argv[0] for c in bad_inputs.CASES if c.argv}
    assert len(bad_inputs.CASES) >= 60 and len(CASES) == len(bad_inputs.CASES)  # unique ids
    assert commands == {"data", "augment", "baseline", "finetune", "adapt", "predict", "compare",
                        "crossdomain", "wordnet"}  # fmt: skip


@pytest.mark.parametrize("case_id", list(CASES))
def test_bad_input(case_id, fx, tmp_path, monkeypatch, request, quiet_transformers):
    case = CASES[case_id]
    if "shared" in case.tags:
        request.getfixturevalue("shared_datasets")
    monkeypatch.chdir(tmp_path)  # default outputs (runs/...) land here
    outcome = bad_inputs.run_case(case, fx, tmp_path)
    assert outcome.exc is None, f"{case_id}: {outcome.exc!r}"
    assert "Traceback" not in outcome.err
    assert not list(tmp_path.rglob(".*.lock")), "a finished command left a lock file"
    if case.kind == "ok":
        assert outcome.rc == 0, outcome.err[-500:]
        assert outcome.checked, f"{case_id}: wrong result: {outcome.out[-500:]}"
        return
    assert outcome.rc == 2, f"{case_id}: exit {outcome.rc}; {outcome.err[-500:]}"
    line = outcome.error_line
    assert re.search(case.error, line), f"{case_id}: {line!r}"
    assert outcome.err.strip().splitlines()[-1] == line, "the error is not the last line"
    assert outcome.checked is not False, f"{case_id}: data lost or code ran"
    assert bad_inputs.classify(case, outcome) == "clear"


def test_a_user_error_from_the_console_script_is_one_line_without_traceback(tmp_path):
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.txt").write_text("years of work\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run(
        [sys.executable, "-m", "textxfer.cli", "data", "sample", "sst2", "--k", "2",
         "--out", str(tmp_path / "precious")],  # fmt: skip
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "files textxfer did not write" in result.stderr
    assert (tmp_path / "precious" / "thesis.txt").read_text() == "years of work\n"


# --- output safety ------------------------------------------------------------------------------
def test_modes_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        folder = save_run(
            tmp_path / "run", kind="demo", metrics={"a": 1},
            payload=lambda tmp: (tmp / "sub").mkdir() or (tmp / "sub" / "f.txt").write_text("x") and None,
        )  # fmt: skip
        os.umask(0o077)
        private = save_run(tmp_path / "private", kind="demo", metrics={"a": 1})
    finally:
        os.umask(old)

    def mode(path):
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(folder) == 0o755 and mode(folder / "sub") == 0o755
    assert mode(folder / "metrics.json") == 0o644 and mode(folder / "textxfer.json") == 0o644
    assert mode(folder / "sub" / "f.txt") == 0o644
    assert mode(private) == 0o700 and mode(private / "metrics.json") == 0o600


def test_a_second_concurrent_run_on_one_out_is_refused(fx, tmp_path, capsys):
    out = tmp_path / "grid"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from textxfer.io import prepare_output; "
         f"prepare_output({str(out)!r}); print('held', flush=True); time.sleep(60)"],  # fmt: skip
        stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputError, match="in use by another textxfer run"):
            prepare_output(out)
        assert main(["compare", fx["data"], "--sizes", "[full]", "--out", str(out)]) == 2
        assert "in use by another textxfer run" in capsys.readouterr().err
        assert not out.exists()  # the second grid wrote nothing there
    finally:
        holder.kill()
        holder.wait()
    prepare_output(out)  # a killed holder's lock is gone with it
    release_output(out)
    assert not (tmp_path / ".grid.lock").exists()


def test_the_temp_files_of_a_killed_write_are_removed_by_the_next_run(tmp_path):
    stale = [tmp_path / ".run.abcd1234.tmp", tmp_path / ".run.old-4242"]
    for path in stale:
        path.mkdir()
        (path / "weights").write_text("half written")
    (tmp_path / ".run.csv.abcd1234.tmp").write_text("x")  # another output's temp: kept
    save_run(tmp_path / "run", kind="demo", metrics={"a": 1})
    assert not any(p.exists() for p in stale)
    assert (tmp_path / ".run.csv.abcd1234.tmp").exists()


def test_overwrite_replaces_a_run_folder_but_nothing_around_or_inside_an_input(tmp_path):
    save_run(tmp_path / "run", kind="demo", metrics={"v": 1})
    with pytest.raises(OutputError, match="--overwrite"):
        save_run(tmp_path / "run", kind="demo", metrics={"v": 2})
    save_run(tmp_path / "run", kind="demo", metrics={"v": 2}, overwrite=True)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == {"v": 2}
    for out in (tmp_path / "run", tmp_path / "run" / "inner", tmp_path):
        with pytest.raises(OutputError, match="the input"):
            save_run(out, kind="demo", overwrite=True, inputs=[tmp_path / "run"])


def test_saved_configs_never_carry_overwrite(fx, tmp_path):
    out = tmp_path / "few"
    assert main(["data", "sample", fx["data"], "--k", "2", "--out", str(out)]) == 0
    assert main(["data", "sample", fx["data"], "--k", "3", "--out", str(out), "--overwrite"]) == 0
    grid = tmp_path / "grid"
    argv = ["compare", fx["data"], "--sizes", "[full]", "--out", str(grid), "--overwrite"]
    with ftutil.quiet():
        assert main(argv) == 0
    assert "overwrite: false" in (grid / "config.yaml").read_text()
    assert json.loads((grid / "textxfer.json").read_text())["kind"] == "compare"


def test_a_killed_compare_folder_resumes_without_overwrite_and_overwrite_starts_afresh(
    fx, tmp_path
):
    grid = tmp_path / "grid"
    argv = ["compare", fx["data"], "--sizes", "[full]", "--seeds", "[0,1]", "--out", str(grid)]
    with ftutil.quiet():
        assert main(argv) == 0
        (grid / "cells" / "tfidf-lr__none__full__seed1.json").unlink()  # as if killed in that cell
        (grid / "cells" / ".x.json.abcd1234.tmp").write_text("{")  # its half-written record
        before = (grid / "cells" / "tfidf-lr__none__full__seed0.json").stat().st_mtime_ns
        assert main(argv) == 0  # resumes: the finished cell is kept as it was
        assert (grid / "cells" / "tfidf-lr__none__full__seed0.json").stat().st_mtime_ns == before
        assert not (grid / "cells" / ".x.json.abcd1234.tmp").exists()
        assert main([*argv, "--overwrite"]) == 0
    assert (grid / "cells" / "tfidf-lr__none__full__seed0.json").stat().st_mtime_ns != before


def test_a_compare_recipe_path_with_dotdot_keeps_every_record_inside_out(fx, tmp_path):
    (tmp_path / "recipes").mkdir()
    (tmp_path / "swap.yaml").write_text("name: myswap\nops:\n  - {op: swap}\n")
    grid = tmp_path / "deep" / "grid"
    recipe = str(tmp_path / "recipes" / ".." / "swap.yaml")
    argv = ["compare", fx["data"], "--augment", f"[{recipe}]", "--n-aug", "1", "--out", str(grid)]
    with ftutil.quiet():
        assert main(argv) == 0
    records = list(grid.glob("cells/*.json"))
    assert len(records) == 1 and json.loads(records[0].read_text())["status"] == "ok"
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["grid"]


# --- nothing runs from a folder -----------------------------------------------------------------
def test_a_baseline_round_trips_through_skops_without_pickle(fx, tmp_path):
    out = tmp_path / "model"
    with ftutil.quiet():
        assert main(["baseline", fx["data"], "--method", "w2v-lr", "--out", str(out)]) == 0
        assert main(["predict", str(out), "--text", "a great film"]) == 0
    assert (out / "pipeline.skops").is_file() and not list(out.glob("*.joblib"))
    assert json.loads((out / "textxfer.json").read_text())["pipeline"] == "pipeline.skops"


def test_a_plugin_baseline_declares_its_own_trusted_types(fx, tmp_path):
    from textxfer.baselines import register_baseline
    from textxfer.baselines.persist import TRUSTED_TYPES
    from textxfer.compare.registry import unregister_method

    register_baseline("plugin-demo", _plugin_pipeline, trusted_types=(f"{__name__}.Lower",))
    try:
        out = tmp_path / "plugin"
        with ftutil.quiet():
            assert main(["baseline", fx["data"], "--method", "plugin-demo", "--out", str(out)]) == 0
            assert main(["predict", str(out), "--text", "A GREAT FILM"]) == 0
        TRUSTED_TYPES.discard(f"{__name__}.Lower")  # without the declaration it is refused
        with pytest.raises(Exception, match="does not trust"):
            from textxfer.predict import load_predictor

            load_predictor(out)
    finally:
        unregister_method("plugin-demo")


class Lower:
    """A plugin's own (trivial) transformer: lowercases texts."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return [str(x).lower() for x in X]


def _plugin_pipeline(args):
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline([("lower", Lower()), ("vectorizer", CountVectorizer()),
                     ("clf", LogisticRegression())])  # fmt: skip


def test_checkpoints_hold_no_pickles_and_a_pickled_optimizer_state_is_refused(fx, tmp_path):
    ck = tmp_path / "ck"
    argv = ["finetune", fx["data"], "--model", fx["bert"], "--max-steps", "2", "--batch-size", "4",
            "--eval-strategy", "no", "--save-strategy", "steps", "--save-steps", "1",
            "--progress-bar", "false", "--checkpoint-dir", str(ck),
            "--out", str(tmp_path / "run")]  # fmt: skip
    with ftutil.quiet():
        assert main(argv) == 0
    step = ck / "step-00000002"
    assert sorted(p.name for p in step.iterdir()) == [
        "checkpoint.json", "loop_state.json", "model.safetensors", "optimizer.pt", "scheduler.json",
    ]  # fmt: skip
    assert not any(p.suffix in (".pkl", ".bin") for p in ck.rglob("*"))

    class Exploit:
        def __reduce__(self):
            return (Path.write_text, (tmp_path / "pwned", "code ran"))

    (step / "optimizer.pt").write_bytes(pickle.dumps(Exploit()))
    with ftutil.quiet():
        assert main([*argv, "--resume", "true", "--overwrite"]) == 2
    assert not (tmp_path / "pwned").exists()
    assert (tmp_path / "run" / "metrics.json").is_file()  # refused before anything was replaced


def test_an_incomplete_newest_checkpoint_is_skipped(tmp_path):
    from textxfer.train.loop import COMPLETE_FILE, latest_checkpoint

    for step in (3, 6, 9):
        (tmp_path / f"step-{step:08d}").mkdir()
    (tmp_path / "step-00000003" / COMPLETE_FILE).write_text("{}")
    (tmp_path / "step-00000006" / COMPLETE_FILE).write_text("{}")
    assert latest_checkpoint(tmp_path).name == "step-00000006"  # step 9 never finished


def test_resume_refuses_other_settings_and_force_continues(fx, tmp_path):
    from textxfer.data import DataArgs
    from textxfer.errors import ConfigError
    from textxfer.finetune import finetune
    from textxfer.train.args import ModelArgs

    common = dict(max_steps=4, save_strategy="steps", save_steps=2, eval_strategy="no",
                  checkpoint_dir=str(tmp_path / "ck"))  # fmt: skip
    with ftutil.quiet():
        finetune(ModelArgs(fx["bert"]), DataArgs(fx["data"]), ftutil.train_args(**common))
        with pytest.raises(ConfigError, match=r"differs in: .*train.lr"):
            finetune(ModelArgs(fx["bert"]), DataArgs(fx["data"]),
                     ftutil.train_args(**common, resume=True, lr=1e-4))  # fmt: skip
        with pytest.raises(ConfigError, match=r"differs in: .*train.seed"):
            finetune(ModelArgs(fx["bert"]), DataArgs(fx["data"]),
                     ftutil.train_args(**common, resume=True, seed=7))  # fmt: skip
        with pytest.raises(ConfigError, match=r"differs in: data.train"):
            finetune(ModelArgs(fx["bert"]), DataArgs(fx["data"], k=5),
                     ftutil.train_args(**common, resume=True))  # fmt: skip
        forced = finetune(
            ModelArgs(fx["bert"]),
            DataArgs(fx["data"]),
            ftutil.train_args(**{**common, "max_steps": 6}, resume="force", lr=1e-4),
        )
        same = finetune(
            ModelArgs(fx["bert"]),
            DataArgs(fx["data"]),
            ftutil.train_args(
                **{**common, "max_steps": 6},
                resume=True,
                lr=1e-4,
                progress_bar=True,
                logging_steps=1,
            ),
        )  # neutral: fine
    assert forced.global_step == 6 and same.global_step == 6


# --- silent wrong results -----------------------------------------------------------------------
def test_adapt_honours_k_and_limit_for_a_dataset(tmp_path):
    from textxfer.data import adaptation_texts

    ftutil.write_csv(tmp_path / "train.csv", ftutil.rows())
    ftutil.write_csv(tmp_path / "test.csv", [(f"held out {i}", ["positive", "negative"][i % 2])
                                             for i in range(6)])  # fmt: skip
    assert len(adaptation_texts(str(tmp_path))) == 18  # train less the carved-out dev
    assert len(adaptation_texts(str(tmp_path), k=2)) == 4  # 2 per class
    assert len(adaptation_texts(str(tmp_path), limit=6)) == 6


def test_adapt_command_passes_k_and_limit_to_its_texts(tmp_path):
    from textxfer.adapt.run import resolve_texts
    from textxfer.cli import build_parser
    from textxfer.commands.adapt import resolve_configs

    ftutil.write_csv(tmp_path / "train.csv", ftutil.rows())
    ftutil.write_csv(tmp_path / "test.csv", [(f"held out {i}", ["positive", "negative"][i % 2])
                                             for i in range(6)])  # fmt: skip

    def texts(*flags):
        argv = ["adapt", str(tmp_path), *flags]
        _, source = resolve_configs(build_parser().parse_args(argv))
        return resolve_texts(source)[0]

    assert (len(texts()), len(texts("--limit", "6")), len(texts("--k", "2"))) == (18, 6, 4)


def test_nan_and_empty_labels_are_dropped_with_a_count(tmp_path, caplog):
    import logging

    from textxfer.data import load_data

    rows = [*ftutil.rows(), ("a fine film", "NaN"), ("a dull film", " "), ("a film", "null")]
    ftutil.write_csv(tmp_path / "train.csv", rows)
    with caplog.at_level(logging.WARNING, logger="textxfer"):
        ds = load_data(str(tmp_path))
    assert sum(len(ds[s]) for s in ds) == 20 and ds["train"].features["label"].names == [
        "negative", "positive"
    ]  # fmt: skip
    assert "dropped 3 of 23 rows" in caplog.text and "missing label (3" in caplog.text


def test_a_lora_adapter_loads_with_peft_automodel_for_any_class_count(bert, tmp_path, monkeypatch):
    import torch
    from peft import AutoPeftModelForSequenceClassification
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from textxfer import models

    rows = [(t, ["bad", "good", "meh"][i % 3]) for i, (t, _) in enumerate(ftutil.rows())]
    ftutil.write_csv(tmp_path / "d" / "train.csv", rows)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(models, "default_model_path", lambda: Path(bert))  # the venv's store
    argv = ["finetune", "d", "--lora", "--max-steps", "2", "--batch-size", "4",
            "--eval-strategy", "no", "--progress-bar", "false", "--out", "run"]  # fmt: skip
    with ftutil.quiet():
        assert main(argv) == 0
    config = json.loads(Path("run/adapter/adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == os.path.join("run", "adapter", "base")
    card = Path("run/adapter/README.md").read_text()  # the model card names the Hub id
    assert "base_model: sentence-transformers/all-MiniLM-L6-v2" in card and str(bert) not in card
    assert not [p for p in Path("run").rglob("*.json") if str(bert) in p.read_text()]
    with ftutil.quiet():
        peft_model = AutoPeftModelForSequenceClassification.from_pretrained("run/adapter").eval()
        merged = AutoModelForSequenceClassification.from_pretrained("run").eval()
    assert peft_model.config.id2label == {0: "bad", 1: "good", 2: "meh"}
    batch = AutoTokenizer.from_pretrained("run")(
        ["a great film", "boring"], return_tensors="pt", padding=True
    )
    with torch.no_grad():
        torch.testing.assert_close(
            peft_model(**batch).logits, merged(**batch).logits, atol=1e-5, rtol=1e-4
        )


def test_accelerate_launch_asking_for_processes_it_does_not_start_is_refused(monkeypatch):
    from textxfer.errors import ConfigError
    from textxfer.train import accel

    monkeypatch.setenv("ACCELERATE_USE_CPU", "False")
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setattr(accel, "_asked_processes", lambda: 2)
    with pytest.raises(
        ConfigError, match=r"--multi_gpu --num_processes 2.*torchrun --nproc_per_node 2"
    ):
        accel.check_launcher()
    monkeypatch.setenv("WORLD_SIZE", "2")  # two processes did start
    accel.check_launcher()


@pytest.mark.slow  # ~20 s of interpreter start-up; check_launcher's logic is tested above
@pytest.mark.skipif(not (Path(sys.executable).parent / "accelerate").exists(),
                    reason="accelerate CLI not installed")  # fmt: skip
def test_accelerate_launch_num_processes_2_on_cpu_says_what_to_run(fx, tmp_path):
    launcher = Path(sys.executable).parent / "accelerate"
    recipe = Path(__file__).resolve().parents[1] / "recipes" / "finetune.py"
    env = {**os.environ, "PYTHONPATH": str(recipe.parents[1]), "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        [str(launcher), "launch", "--num_processes", "2", str(recipe), fx["data"], "--model",
         fx["bert"], "--max-steps", "1", "--out", str(tmp_path / "f")],  # fmt: skip
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode != 0
    assert "asked for 2 processes but started 1" in result.stderr
    assert "--multi_gpu" in result.stderr and "torchrun" in result.stderr


@pytest.mark.slow  # ~40 s: two fresh interpreters on gloo
@pytest.mark.skipif(not (Path(sys.executable).parent / "accelerate").exists(),
                    reason="accelerate CLI not installed")  # fmt: skip
def test_accelerate_launch_multi_gpu_on_cpu_trains_on_two_processes(fx, tmp_path):
    launcher = Path(sys.executable).parent / "accelerate"
    recipe = Path(__file__).resolve().parents[1] / "recipes" / "finetune.py"
    env = {**os.environ, "PYTHONPATH": str(recipe.parents[1]), "CUDA_VISIBLE_DEVICES": "",
           "OMP_NUM_THREADS": "1"}  # fmt: skip
    result = subprocess.run(
        [str(launcher), "launch", "--multi_gpu", "--num_processes", "2", str(recipe), fx["data"],
         "--model", fx["bert"], "--max-steps", "2", "--batch-size", "2", "--progress-bar", "false",
         "--out", str(tmp_path / "f")],  # fmt: skip
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "processes: 2" in result.stdout
    assert "finetune: 2 process(es) (MULTI_CPU)" in (tmp_path / "f" / "run.log").read_text()


def test_training_logs_the_world_size(fx, tmp_path, caplog):
    import logging

    from textxfer.commands.finetune import format_result
    from textxfer.data import DataArgs
    from textxfer.finetune import finetune
    from textxfer.train.args import ModelArgs

    with ftutil.quiet(), caplog.at_level(logging.INFO, logger="textxfer"):
        result = finetune(
            ModelArgs(fx["bert"]),
            DataArgs(fx["data"]),
            ftutil.train_args(max_steps=1, eval_strategy="no"),
        )
    assert "finetune: 1 process(es) (NO)" in caplog.text  # run.log; the console shows the count:
    assert result.processes == 1 and "processes: 1" in format_result(result)


def test_a_real_bug_keeps_its_traceback(fx, monkeypatch):
    from textxfer.commands import data

    def broken(args):
        raise ZeroDivisionError("a bug, not a user error")

    monkeypatch.setattr(data, "run_show", broken)
    with pytest.raises(ZeroDivisionError):
        main(["data", "show", fx["data"]])
