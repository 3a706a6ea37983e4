"""Quickstart (`make quickstart`): dataset stats, then the quick comparison grid, offline.

Runs on the built-in ``subj`` dataset (Pang & Lee 2004, CC BY 4.0), so it needs nothing but the
install. Prints the dataset summary, the results table (mean ± sd over seeds) and where the report
and plots are. Pass --config to run another preset, a dataset for other data.
"""

from __future__ import annotations

import argparse
import sys

from textxfer.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "dataset", nargs="?", default="subj", help="dataset (default: subj, built in)"
    )
    parser.add_argument("--config", default="recipes/configs/quick.yaml", help="compare preset")
    parser.add_argument("--out", default="runs/quickstart", help="output folder of the comparison")
    parser.add_argument("--model", default=None, help="pretrained model (default: the preset's)")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny settings (seconds), as CI runs it"
    )
    args = parser.parse_args(argv)
    code = cli_main(["data", "show", args.dataset])
    if code:
        return code
    extra = ["--model", args.model] if args.model else []
    extra += ["--smoke"] if args.smoke else []
    return cli_main(["compare", args.dataset, "--config", args.config, "--out", args.out, *extra])


if __name__ == "__main__":
    sys.exit(main())
