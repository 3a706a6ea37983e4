"""Benchmark textxfer's contrastive few-shot method against the setfit package, side by side.

    python recipes/bench_fewshot.py                                   # sst2 + amazon_mds/books, 8 and 16 / class
    python recipes/bench_fewshot.py sst2 --k 8 --seeds 0,1 --setfit-python /work/venvs/setfit/bin/python

For every dataset, labels per class k and seed, the same k examples per class (seeded sample of the
train split; the test split is fixed by --data-seed) train three methods on the same body (--model,
default the offline all-MiniLM-L6-v2) with the same --max-length:

- ``contrastive-lr``: textxfer's method with its defaults (``textxfer.fewshot``; with word label
  names these add 8 templated examples per label);
- ``setfit``: ``setfit.Trainer`` with the package's defaults (run in a subprocess by
  ``--setfit-python``, a Python that has setfit, e.g. a separate venv; it needs only setfit);
- ``setfit-templates``: the same, with the templated examples contrastive-lr adds by default
  ("This sentence is positive", 8 per label) added by setfit's own ``get_templated_dataset``,
  so that both sides see the same training texts;
- ``features-lr``: frozen features + logistic regression (the no-tuning baseline).

It prints per (dataset, k) the test accuracy (mean ± sd over seeds) and the time of each method
(fit + predict, seconds), the paired differences, and whether the targets hold: contrastive-lr >=
setfit and >= features-lr + 5 points (setfit-templates is shown, with no target). ``--out`` saves
every run as JSON. When setfit cannot run, its error is printed and the table shows the other
methods.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_OVER_FEATURES = 0.05
METHODS = ("contrastive-lr", "setfit", "setfit-templates", "features-lr")
# (peer, margin contrastive-lr must reach, whether that is a target)
PEERS = (("setfit", 0.0, True), ("setfit-templates", 0.0, False),
         ("features-lr", TARGET_OVER_FEATURES, True))  # fmt: skip
DEFAULT_SETFIT_PYTHON = "/work/venvs/setfit/bin/python"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("datasets", nargs="*", default=["sst2", "amazon_mds/books"])
    parser.add_argument("--k", default="8,16", help="labels per class, comma-separated")
    parser.add_argument(
        "--seeds", default="0,1,2,3,4", help="seeds of the k-shot samples and methods"
    )
    parser.add_argument("--model", default="default", help="the body (default: offline MiniLM)")
    parser.add_argument("--max-length", type=int, default=128, help="tokens per text, all methods")
    parser.add_argument(
        "--data-seed", type=int, default=42, help="seed of the train/dev/test split"
    )
    parser.add_argument("--test-limit", type=int, help="cap the test split (stratified)")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset")
    parser.add_argument("--options", default="{}", help="JSON options of contrastive-lr")
    parser.add_argument(
        "--setfit-python",
        default=os.environ.get("TEXTXFER_SETFIT_PYTHON", DEFAULT_SETFIT_PYTHON),
        help="Python with the setfit package (default $TEXTXFER_SETFIT_PYTHON or "
        f"{DEFAULT_SETFIT_PYTHON}; falls back to this Python)",
    )
    parser.add_argument("--out", help="write every run and the summary as JSON here")
    parser.add_argument("--setfit-worker", help=argparse.SUPPRESS)
    return parser


# --- the setfit side: runs under --setfit-python, imports only setfit and datasets -------------


def setfit_worker(spec_path: str) -> dict:
    """Train setfit with its defaults on the spec's train rows, predict its test rows."""
    spec = json.loads(Path(spec_path).read_text())
    start = time.perf_counter()
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    model = SetFitModel.from_pretrained(spec["model_path"])
    model.model_body.max_seq_length = spec["max_length"]
    args = TrainingArguments(
        seed=spec["seed"], show_progress_bar=False, report_to="none", save_strategy="no",
        output_dir=tempfile.mkdtemp(prefix="bench_fewshot_setfit_"),  # not ./checkpoints
    )  # fmt: skip
    train = Dataset.from_dict({"text": spec["train_text"], "label": spec["train_label"]})
    if spec.get("templates"):
        from setfit import get_templated_dataset

        train = get_templated_dataset(train, candidate_labels=spec["label_names"],
                                      sample_size=spec["templates"], template=spec["template"])  # fmt: skip
    trainer = Trainer(model=model, args=args, train_dataset=train)
    fit_start = time.perf_counter()
    trainer.train()
    predicted = model.predict(spec["test_text"], show_progress_bar=False)
    seconds = time.perf_counter() - fit_start
    predicted = [int(p) for p in predicted]
    correct = sum(p == g for p, g in zip(predicted, spec["test_label"]))
    return {"accuracy": correct / len(predicted), "seconds": seconds,
            "wall_seconds": time.perf_counter() - start}  # fmt: skip


def run_setfit(python: str, model_path: str, ds, seed: int, max_length: int,
               templates: tuple[int, str] = (0, "")) -> dict:  # fmt: skip
    """``setfit_worker`` in a subprocess of ``python``; raises with its stderr on failure.
    ``templates``: (copies per label, template) for ``get_templated_dataset``; 0: none."""
    spec = {
        "model_path": model_path, "seed": seed, "max_length": max_length,
        "label_names": ds["train"].features["label"].names,
        "templates": templates[0], "template": templates[1],
        "train_text": list(ds["train"]["text"]), "train_label": list(ds["train"]["label"]),
        "test_text": list(ds["test"]["text"]), "test_label": list(ds["test"]["label"]),
    }  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(spec, fh)
    try:
        proc = subprocess.run(
            [python, str(Path(__file__).resolve()), "--setfit-worker", fh.name],
            capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )  # fmt: skip
    finally:
        os.unlink(fh.name)
    if proc.returncode != 0:
        raise RuntimeError(
            proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- the textxfer side ----------------------------------------------------------------------------


def k_shot(dataset: str, k: int, seed: int, data_seed: int, test_limit: int | None):
    """The dataset with its train split cut to ``k`` examples per class (sampled with ``seed``)."""
    import pandas as pd
    from datasets import DatasetDict

    from textxfer.data import DataArgs, load_data
    from textxfer.data.sampling import few_shot

    full = load_data(DataArgs(dataset, seed=data_seed, limit=None))
    train = full["train"]
    frame = pd.DataFrame({"label": train["label"], "_row": range(len(train))})
    picked = few_shot(frame, k, seed)["_row"].tolist()
    test = full["test"]
    if test_limit and test_limit < len(test):
        test = load_data(DataArgs(dataset, seed=data_seed, limit=test_limit))["test"]
    return DatasetDict(train=train.select(picked), dev=full["dev"], test=test)


def run_textxfer(method: str, ds, seed: int, model: str, max_length: int, options: dict) -> dict:
    from textxfer.compare.registry import run_method

    start = time.perf_counter()
    result = run_method(method, ds, options={"max_length": max_length, **options}, seed=seed,
                        model=model, work_dir=tempfile.mkdtemp())  # fmt: skip
    return {"accuracy": result.metrics["accuracy"], "seconds": time.perf_counter() - start}


def templates(ds, options: dict) -> tuple[int, str]:
    """(copies per label, template) that contrastive-lr adds with ``options`` on ``ds``."""
    from textxfer.fewshot.args import ContrastiveArgs
    from textxfer.fewshot.templates import resolve_templates

    defaults = ContrastiveArgs()
    template = options.get("template", defaults.template)
    names = ds["train"].features["label"].names
    return resolve_templates(options.get("templates", defaults.templates), names), template


def _mean_sd(values: list[float], scale: float = 100.0) -> str:
    if not values:
        return "-"
    mean = scale * statistics.fmean(values)
    sd = scale * statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:5.1f} ± {sd:4.1f}"


def summarize(runs: list[dict]) -> tuple[str, list[dict]]:
    """The printed table and one summary record per (dataset, k)."""
    lines = [f"{'dataset':<18} {'k':>3} {'method':<15} {'accuracy %':>13} {'seconds':>8} {'n':>3}"]
    records = []
    groups = sorted({(r["dataset"], r["k"]) for r in runs}, key=lambda g: (g[0], g[1]))
    for dataset, k in groups:
        rows = [r for r in runs if (r["dataset"], r["k"]) == (dataset, k) and "accuracy" in r]
        by = {m: {r["seed"]: r for r in rows if r["method"] == m} for m in METHODS}
        for method in METHODS:
            got = list(by[method].values())
            if got:
                seconds = statistics.fmean(r["seconds"] for r in got)
                lines.append(f"{dataset:<18} {k:>3} {method:<15} "
                             f"{_mean_sd([r['accuracy'] for r in got]):>13} {seconds:>8.1f} {len(got):>3}")  # fmt: skip
        record = {"dataset": dataset, "k": k}
        ours = by["contrastive-lr"]
        for peer, margin, is_target in PEERS:
            seeds = sorted(set(ours) & set(by[peer]))
            if not seeds:
                continue
            diff = [ours[s]["accuracy"] - by[peer][s]["accuracy"] for s in seeds]
            record[f"minus_{peer}"] = diff
            line = f"{'':<22} contrastive-lr - {peer}: {_mean_sd(diff):>13} points"
            if is_target:
                holds = statistics.fmean(diff) >= margin
                record[f"target_{peer}"] = holds
                line += f"  target >= {100 * margin:+.0f}: {'met' if holds else 'NOT met'}"
            lines.append(line)
        records.append(record)
    return "\n".join(lines), records


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.setfit_worker:
        print(json.dumps(setfit_worker(args.setfit_worker)))
        return 0
    from textxfer.models import resolve_model

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    python = args.setfit_python if Path(args.setfit_python).is_file() else sys.executable
    options, model_path = json.loads(args.options), resolve_model(args.model)
    feature_cache = tempfile.mkdtemp(prefix="bench_fewshot_features_")  # test features, once
    runs, setfit_error = [], None
    for dataset in args.datasets:
        for k in [int(x) for x in args.k.split(",")]:
            for seed in [int(x) for x in args.seeds.split(",")]:
                ds = k_shot(dataset, k, seed, args.data_seed, args.test_limit)
                order = methods if seed % 2 == 0 else methods[::-1]  # neither side always first
                for method in order:
                    record = {"dataset": dataset, "k": k, "seed": seed, "method": method}
                    if method.startswith("setfit"):
                        if setfit_error:
                            continue
                        same = templates(ds, options) if method == "setfit-templates" else (0, "")
                        try:
                            record.update(
                                run_setfit(python, model_path, ds, seed, args.max_length, same)
                            )
                        except RuntimeError as err:
                            setfit_error = f"setfit ({python}) failed: {err}"
                            print(setfit_error, file=sys.stderr)
                            continue
                    else:
                        extra = (options if method == "contrastive-lr"
                                 else {"feature_cache_dir": feature_cache})  # fmt: skip
                        record.update(
                            run_textxfer(method, ds, seed, args.model, args.max_length, extra)
                        )
                    runs.append(record)
                    print(json.dumps(record), file=sys.stderr, flush=True)
    table, summary = summarize(runs)
    print(f"model {args.model}, max length {args.max_length}, seeds {args.seeds}, "
          f"data seed {args.data_seed}, setfit python {python}")  # fmt: skip
    print(table)
    if setfit_error:
        print(setfit_error)
    if args.out:
        from textxfer.io import atomic_write_json

        atomic_write_json(args.out, {"settings": vars(args), "runs": runs, "summary": summary,
                                     "setfit_error": setfit_error})  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
