"""Benchmark textxfer.finetune against transformers.Trainer: samples/s and peak memory, full and LoRA.

    python recipes/bench_finetune.py sst2 --model default --rows 256
    python recipes/bench_finetune.py --model default --rows 512 --precision bf16 --batch-size 32

Each (implementation, method) pair trains in a fresh subprocess on the same model, rows, batch size,
sequence length (every text padded to --max-length), precision, optimizer (AdamW, linear schedule,
clipping at 1.0) and number of epochs, without evaluation or checkpoints. Peak memory is the
process's peak RSS on CPU (``resource.getrusage``) and ``torch.cuda.max_memory_allocated`` on GPU;
"train +MB" is the growth of the peak during training, i.e. without the interpreter and libraries.
The table and the ratios (textxfer / Trainer, LoRA / full) are printed; ``--out`` saves them as JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

JOBS = [("textxfer", "full"), ("trainer", "full"), ("textxfer", "lora"), ("trainer", "lora")]
SETTINGS = ("model", "dataset", "rows", "epochs", "batch_size", "max_length", "precision", "lr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default", help="model (default: offline MiniLM)")
    parser.add_argument(
        "dataset", nargs="?", default="sst2", help="dataset name or folder (default: sst2)"
    )
    parser.add_argument("--rows", type=int, default=256, help="training rows (default: 256)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=64, help="every text padded to this")
    parser.add_argument("--precision", default="no", choices=("no", "bf16", "fp16"))
    parser.add_argument("--lr", type=float, default=5e-5, help="full fine-tuning lr (LoRA: x10)")
    parser.add_argument("--methods", default="full,lora", help="comma-separated: full, lora")
    parser.add_argument(
        "--repeats", type=int, default=1, help="run every job N times, order reversed each time"
    )
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run every job in this process (quick check; peak memory is then shared)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser


def _peak_mb() -> float:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _dataset(spec: dict):
    from datasets import DatasetDict

    from textxfer.data import load_data

    ds = load_data(spec["dataset"], seed=0)
    small = min(32, len(ds["dev"]), len(ds["test"]))
    train = ds["train"].shuffle(seed=0).select(range(min(spec["rows"], len(ds["train"]))))
    return DatasetDict(
        train=train, dev=ds["dev"].select(range(small)), test=ds["test"].select(range(small))
    )


def _run_textxfer(spec: dict, ds) -> float:
    from textxfer.finetune import finetune
    from textxfer.train.args import LoraArgs, ModelArgs, TrainArgs

    lora = spec["method"] == "lora"
    args = TrainArgs(
        epochs=spec["epochs"],
        batch_size=spec["batch_size"],
        lr=spec["lr"] * (10 if lora else 1),
        mixed_precision=spec["precision"],
        warmup_ratio=0.0,  # as the Trainer side (its default): no warm-up
        eval_strategy="no",
        progress_bar=False,
        seed=0,
    )
    model = ModelArgs(spec["model"], max_length=spec["max_length"], pad_to_max_length=True)
    result = finetune(model, None, args, LoraArgs(lora=True) if lora else None, dataset=ds)
    return result.train_seconds


def _run_trainer(spec: dict, ds) -> float:
    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments, set_seed

    from textxfer.finetune.task import build_classifier, encode
    from textxfer.models import load_tokenizer, resolve_model
    from textxfer.train.args import LoraArgs
    from textxfer.train.lora import apply_lora

    lora = spec["method"] == "lora"
    path = resolve_model(spec["model"])
    tok = load_tokenizer(path)
    train = encode(ds, tok, spec["max_length"], pad_to_max_length=True)["train"]
    set_seed(0)
    model, new_keys = build_classifier(path, ds["train"].features["label"].names)
    if lora:
        model = apply_lora(model, LoraArgs(lora=True), new_keys)
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(
            output_dir=tmp,
            per_device_train_batch_size=spec["batch_size"],
            num_train_epochs=spec["epochs"],
            learning_rate=spec["lr"] * (10 if lora else 1),
            weight_decay=0.01,
            lr_scheduler_type="linear",
            max_grad_norm=1.0,
            eval_strategy="no",
            save_strategy="no",
            logging_strategy="no",
            report_to="none",
            disable_tqdm=True,
            seed=0,
            dataloader_num_workers=0,
            use_cpu=not torch.cuda.is_available(),
            bf16=spec["precision"] == "bf16",
            fp16=spec["precision"] == "fp16",
        )
        trainer = Trainer(
            model=model, args=args, train_dataset=train, data_collator=DataCollatorWithPadding(tok)
        )
        return float(trainer.train().metrics["train_runtime"])


def worker(spec: dict) -> dict:
    """One measurement in this process; returns samples/s and memory."""
    import torch

    ds = _dataset(spec)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    before = _peak_mb()
    start = time.perf_counter()
    run = _run_textxfer if spec["impl"] == "textxfer" else _run_trainer
    seconds = run(spec, ds)
    wall = time.perf_counter() - start
    n = len(ds["train"]) * spec["epochs"]
    return {
        "impl": spec["impl"],
        "method": spec["method"],
        "samples_per_s": n / seconds,
        "train_seconds": seconds,
        "wall_seconds": wall,
        "peak_mb": _peak_mb(),
        "train_mb": _peak_mb() - before,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
    }


def _measure(spec: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{spec['impl']}/{spec['method']} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _median(runs: list[dict]) -> dict:
    """The run with the (lower) median samples/s, listing every run's samples/s."""
    ordered = sorted(runs, key=lambda r: r["samples_per_s"])
    return {
        **ordered[(len(ordered) - 1) // 2],
        "all_samples_per_s": [r["samples_per_s"] for r in runs],
    }


def ratios(rows: list[dict]) -> dict[str, float]:
    """textxfer / Trainer speed and memory per method; LoRA / full training memory per impl."""
    by = {(r["impl"], r["method"]): r for r in rows}
    out = {}
    for method in ("full", "lora"):
        if ("textxfer", method) in by and ("trainer", method) in by:
            ours, peer = by[("textxfer", method)], by[("trainer", method)]
            out[f"{method}: textxfer/Trainer samples/s"] = (
                ours["samples_per_s"] / peer["samples_per_s"]
            )
            out[f"{method}: textxfer/Trainer peak MB"] = ours["peak_mb"] / peer["peak_mb"]
    for impl in ("textxfer", "trainer"):
        if (impl, "full") in by and (impl, "lora") in by:
            full, lora = by[(impl, "full")], by[(impl, "lora")]
            out[f"{impl}: LoRA/full train +MB"] = lora["train_mb"] / max(full["train_mb"], 1e-9)
            out[f"{impl}: LoRA/full samples/s"] = lora["samples_per_s"] / full["samples_per_s"]
    return out


def format_table(rows: list[dict], ratio: dict[str, float]) -> str:
    lines = [
        f"{'impl':<9} {'method':<6} {'samples/s':>10} {'train s':>8} {'peak MB':>9} {'train +MB':>10}"
    ]
    for r in rows:
        lines.append(
            f"{r['impl']:<9} {r['method']:<6} {r['samples_per_s']:>10.1f} {r['train_seconds']:>8.1f} "
            f"{r['peak_mb']:>9.0f} {r['train_mb']:>10.0f}"
        )
    lines += [f"{name}: {value:.2f}" for name, value in ratio.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    spec = {k: getattr(args, k) for k in SETTINGS}
    measure = worker if args.in_process else _measure
    jobs = [(impl, m) for impl, m in JOBS if m in methods]
    runs = []
    for r in range(args.repeats):  # alternate the order so neither side always runs first
        runs += [measure({**spec, "impl": i, "method": m}) for i, m in jobs[:: -1 if r % 2 else 1]]
    rows = [_median([x for x in runs if (x["impl"], x["method"]) == job]) for job in jobs]
    ratio = ratios(rows)
    print(
        f"model {args.model}, {args.rows} rows x {args.epochs} epoch(s), batch {args.batch_size}, "
        f"length {args.max_length}, precision {args.precision}, device {rows[0]['device']}"
    )
    print(format_table(rows, ratio))
    if args.out:
        from textxfer.io import atomic_write_json

        atomic_write_json(
            args.out, {"settings": spec, "results": rows, "runs": runs, "ratios": ratio}
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
