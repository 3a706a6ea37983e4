"""Benchmark: textxfer.augment vs a plain single-process nlpaug loop doing the same ops.

The peer builds nlpaug's augmenters for every op of the recipe (RandomWordAug delete/swap,
SynonymAug on the local WordNet, EDA's synonym insertion as an nlpaug augmenter) and calls
``aug.augment(text)`` for each (row, copy), picking the op at random, in one process. textxfer
runs the same recipe with its own ops (``engine=textxfer``) and with nlpaug's augmenters
(``engine=nlpaug``), for each ``--num-proc`` (``auto``, the default, lets textxfer choose from
the measured cost; the table shows what it chose); the result cache is off. One-off costs are
paid before timing, for both: nlpaug is imported, NLTK's WordNet loaded and its synsets for the
data parsed (the peer then runs warm), and textxfer's WordNet synonym index exists (it is built
once per machine, by ``textxfer wordnet setup`` or the first augment call). textxfer's timings
include looking up its synonym table for the data's vocabulary. Throughput counts augmented texts
per wall-clock second, from the fastest of ``--repeat`` runs of each setting; ``cpu s`` (this
process and its workers) shows how much of a wall-clock time was spent computing, which matters when other processes share the cores.

    python recipes/bench_augment.py                      # full sst2 train, n_aug 4, alpha 0.1
    python recipes/bench_augment.py sst2 --limit 1000    # 1,000 rows
    python recipes/bench_augment.py sst2 --limit 200 --n-aug 2 --num-proc 1 2
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import time

from textxfer.augment import AugmentArgs, augment_with_info
from textxfer.augment.ops import build_nlpaug, token_info, vocabulary
from textxfer.augment.recipes import load_recipe
from textxfer.augment.wnindex import open_index
from textxfer.augment.wordnet import load_wordnet
from textxfer.data import load_data


def nlpaug_loop(texts: list[str], recipe_name: str, n_aug: int, alpha: float, seed: int):
    """The plain peer: nlpaug augmenters, ``augment()`` per text and copy, one process."""
    recipe = load_recipe(recipe_name)
    augs = [build_nlpaug(dataclasses.replace(s, engine="nlpaug"), alpha) for s in recipe.ops]
    weights = [s.p for s in recipe.ops]
    random.seed(seed)
    out = []
    for text in texts:
        for _ in range(n_aug):
            aug = random.choices(augs, weights=weights)[0]
            result = aug.augment(text)
            out.append(result[0] if result else text)
    return out


def warm_up(texts: list[str]) -> None:
    """Import nlpaug, load WordNet and parse every synset of the texts' words (NLTK caches them),
    and make sure textxfer's synonym index exists: one-off costs kept out of all timings (the
    synsets of the data favour the nlpaug loop: textxfer's lookup of its table is timed)."""
    import nlpaug.augmenter.char  # noqa: F401 - imports torch and transformers: ~5 s
    import nlpaug.augmenter.word  # noqa: F401

    reader = load_wordnet()
    for word in vocabulary(texts):
        reader.synsets(word)
    open_index()


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the worker pools)."""
    import resource

    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn, *args, repeat: int = 1):
    """``(result, seconds, cpu seconds)`` of the fastest of ``repeat`` calls: sub-second runs on
    shared cores vary by tens of percent from call to call, for the peer and textxfer alike."""
    best = None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), _cpu_seconds()
        result = fn(*args)
        timing = (result, time.perf_counter() - start, _cpu_seconds() - cpu)
        best = timing if best is None or timing[1] < best[1] else best
    return best


def run(args: argparse.Namespace) -> list[dict]:
    """Time the peer and each textxfer setting; rows of name, num_proc, texts, seconds, rate."""
    train = load_data(args.dataset, **({"limit": args.limit} if args.limit else {}))["train"]
    texts = train["text"][:]
    warm_up(texts)
    produced, seconds, cpu = _timed(
        nlpaug_loop, texts, args.recipe, args.n_aug, args.alpha, args.seed, repeat=args.repeat
    )
    rows = [{"method": "nlpaug loop (plain)", "num_proc": "1", "texts": len(produced)}]
    rows[0] |= {"seconds": seconds, "cpu": cpu}
    engines = [(args.recipe, "textxfer")]
    if args.with_nlpaug_engine:
        engines.append((_nlpaug_recipe(args.recipe), "textxfer engine=nlpaug"))
    for recipe, name in engines:
        for num_proc in args.num_proc:
            aug_args = AugmentArgs(  # num_proc None: textxfer's default, chosen by cost
                recipe,
                n_aug=args.n_aug,
                alpha=args.alpha,
                seed=args.seed,
                num_proc=num_proc,
                use_cache=False,
                keep_original=False,
            )
            (_, info), seconds, cpu = _timed(_cold_augment, train, aug_args, repeat=args.repeat)
            used = f"auto:{info.num_proc}" if num_proc is None else str(num_proc)
            rows.append({"method": name, "num_proc": used, "texts": info.rows})
            rows[-1] |= {"seconds": seconds, "cpu": cpu}
    for row in rows:
        row["texts_per_s"] = row["texts"] / row["seconds"]
        row["ratio"] = row["texts_per_s"] / rows[0]["texts_per_s"]
    return rows


def _cold_augment(train, aug_args: AugmentArgs):
    """``augment_with_info`` without the token memo of an earlier run (each timed run pays it)."""
    token_info.cache_clear()
    return augment_with_info(train, aug_args)


def _nlpaug_recipe(name: str) -> dict:
    recipe = load_recipe(name)
    return {
        "name": f"{recipe.name}_nlpaug",
        "mode": recipe.mode,
        "ops": [{**s.to_dict(), "engine": "nlpaug"} for s in recipe.ops],
    }


def format_rows(rows: list[dict], header: str) -> str:
    """A plain-text side-by-side table with the speed-up over the nlpaug loop."""
    lines = [
        header,
        f"{'method':<26} {'num_proc':>8} {'texts':>7} {'seconds':>8} {'cpu s':>7} "
        f"{'texts/s':>9} {'vs nlpaug':>9}",
    ]
    for r in rows:
        lines.append(
            f"{r['method']:<26} {r['num_proc']:>8} {r['texts']:>7} {r['seconds']:>8.2f} "
            f"{r['cpu']:>7.2f} {r['texts_per_s']:>9.0f} {r['ratio']:>8.2f}x"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "dataset", nargs="?", default="sst2", help="dataset name or folder (default: sst2)"
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="cap the rows (default: all of train)"
    )
    parser.add_argument("--recipe", default="eda", help="recipe nlpaug can run (default: eda)")
    parser.add_argument("--n-aug", type=int, default=4, help="copies per row (default: 4)")
    parser.add_argument("--alpha", type=float, default=0.1, help="fraction of words changed (0.1)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs of each setting; the fastest counts (3)"
    )
    parser.add_argument(
        "--num-proc",
        type=_num_proc,
        nargs="+",
        default=[None, 1, 2],
        help="worker counts; auto = textxfer's default choice (default: auto 1 2)",
    )
    parser.add_argument(
        "--no-nlpaug-engine",
        dest="with_nlpaug_engine",
        action="store_false",
        help="skip textxfer with nlpaug's augmenters (engine=nlpaug)",
    )
    args = parser.parse_args(argv)
    rows = run(args)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    header = (
        f"bench_augment: {args.dataset} train ({rows[0]['texts'] // args.n_aug} texts), recipe "
        f"{args.recipe}, n_aug {args.n_aug}, alpha {args.alpha}; {os.cpu_count()} cores, "
        f"load average {load} (other processes share the cores)"
    )
    print(format_rows(rows, header))
    ours = [r for r in rows if r["method"] == "textxfer"]
    auto = [r for r in ours if r["num_proc"].startswith("auto")]
    best = auto[0] if auto else max(ours, key=lambda r: r["ratio"])
    print(
        f"speed-up of textxfer (num_proc {best['num_proc']}) over the plain nlpaug loop: {best['ratio']:.2f}x"
    )
    return 0


def _num_proc(text: str) -> int | None:
    if text == "auto":
        return None
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"num_proc must be auto or >= 1, found {text}")
    return value


if __name__ == "__main__":
    sys.exit(main())
