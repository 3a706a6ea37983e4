"""Read one table file (CSV / JSON / JSONL / Parquet, text formats also gzipped) and check it, with
errors that say the fix."""

from __future__ import annotations

import gzip
import io
import logging
import math
import re
from pathlib import Path

import pandas as pd

from ..errors import DataError

logger = logging.getLogger(__name__)

EXTENSIONS = (".csv", ".tsv", ".jsonl", ".json", ".parquet")
SPLIT_FILES = ("train", "dev", "validation", "test", "all")
GZIP = ".gz"  # train.csv.gz, test.jsonl.gz, ...: read as the format before it


def table_suffix(path: Path) -> str:
    """The table format of ``path``: ``.csv`` for ``train.csv`` and for ``train.csv.gz``."""
    name = path.name.lower()
    return Path(name.removesuffix(GZIP)).suffix if name.endswith(GZIP) else path.suffix.lower()


def find_split_files(folder: Path) -> dict[str, Path]:
    """split -> file in ``folder`` (``validation`` counts as ``dev``)."""
    found: dict[str, Path] = {}
    for stem in SPLIT_FILES:
        for ext in (*EXTENSIONS, *(e + GZIP for e in EXTENSIONS if e != ".parquet")):
            path = folder / f"{stem}{ext}"
            if path.is_file():
                found.setdefault({"validation": "dev"}.get(stem, stem), path)
    if not found:
        present = sorted(p.name for p in folder.iterdir())[:10]
        raise DataError(
            f"folder {str(folder)!r} has no data files; expected train/dev/test or all with extension "
            f"{'/'.join(EXTENSIONS)}, found {present}. Rename the files (e.g. train.csv, test.csv)"
        )
    return found


def decode_text(path: Path) -> str:
    """A file's text (UTF-8, BOM allowed), with one clear error for empty or non-UTF-8 files."""
    raw = path.read_bytes()
    if path.name.lower().endswith(GZIP):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise DataError(
                f"file {str(path)!r} is not a valid gzip file ({err}); re-compress it with "
                "`gzip -k FILE` or pass the uncompressed file"
            ) from err
    if not raw.strip():
        raise DataError(
            f"file {str(path)!r} is empty; expected a header row (e.g. text,label) and at least one data row"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(
            f"file {str(path)!r} is not valid UTF-8: byte 0x{raw[err.start]:02x} at line {line}; "
            "re-save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`)"
        ) from err


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV/TSV/JSON/JSONL/Parquet file as strings-as-read, checking it is usable."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"file {str(path)!r} not found; pass an existing file or folder")
    suffix = table_suffix(path)
    if suffix not in EXTENSIONS or (suffix == ".parquet" and path.name.lower().endswith(GZIP)):
        raise DataError(
            f"file {str(path)!r} has extension {suffix!r}; expected one of {list(EXTENSIONS)} "
            f"(the text formats may be gzipped: .csv{GZIP})"
        )
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            text = decode_text(path)
            if suffix in (".csv", ".tsv"):
                sep = "\t" if suffix == ".tsv" else sniff_delimiter(text)
                frame = pd.read_csv(
                    io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=[""]
                )
            else:
                lines = suffix == ".jsonl" or not text.lstrip().startswith("[")
                frame = pd.read_json(io.StringIO(text), lines=lines, dtype=False)
    except DataError:
        raise
    except Exception as err:  # noqa: BLE001 - parser errors become one actionable message
        raise DataError(f"could not parse {str(path)!r} as {suffix[1:]}: {err}") from err
    if len(frame) == 0:
        raise DataError(
            f"file {str(path)!r} has a header ({list(frame.columns)}) but no data rows; add rows or remove the file"
        )
    frame.attrs["source"] = path.name
    return frame


DELIMITERS = (",", ";", "\t", "|")


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV from its header line: the candidate (``, ; tab |``) it holds most
    often outside quotes; a comma when it holds none (one column)."""
    header = text.split("\n", 1)[0]
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {sep: unquoted.count(sep) for sep in DELIMITERS}
    best = max(DELIMITERS, key=lambda sep: counts[sep])
    if best != "," and counts[best]:
        logger.info("reading a %r-delimited file", best)
    return best if counts[best] else ","


# Usual column names, for the fix an error suggests (e.g. GLUE's sentence/label).
TEXT_NAMES = ("text", "sentence", "review", "content", "document", "question", "sentence1", "body")
LABEL_NAMES = ("label", "labels", "class", "category", "target", "sentiment", "coarse_label")


def _guess_columns(found: list[str], label_column: str) -> tuple[str, str]:
    """(text, label) columns to suggest: usual names first, else the first / last other column."""
    lowered = {c.lower(): c for c in found}
    text = next((lowered[n] for n in TEXT_NAMES if n in lowered), None)
    text = text or next((c for c in found if c != label_column), "TEXT")
    label = label_column if label_column in found else None
    label = label or next((lowered[n] for n in LABEL_NAMES if n in lowered), None)
    label = label or next((c for c in reversed(found) if c != text), "LABEL")
    return text, label


def join_text_columns(
    frame: pd.DataFrame, text_column: str | list[str], label_column: str, source: str
) -> pd.DataFrame:
    """Select (and join) the text column(s) and the label column as ``text``, ``label``."""
    columns = [text_column] if isinstance(text_column, str) else list(text_column)
    missing = [c for c in [*columns, label_column] if c not in frame.columns]
    if missing:
        found = [str(c) for c in frame.columns]
        text, label = _guess_columns(found, label_column)
        raise DataError(
            f"expected columns {[*columns, label_column]} in {source}, found {found} (missing {missing}); "
            f"pass --text-column {text} --label-column {label} (or text_column/label_column in the config)"
        )
    parts = frame[columns].astype("string")
    if len(columns) == 1:
        text = parts[columns[0]]
    else:
        text = parts.apply(
            lambda row: " ".join(v for v in row if isinstance(v, str) and v.strip()) or pd.NA,
            axis=1,
        )
    return pd.DataFrame({"text": text, "label": frame[label_column]})


MISSING_LABELS = ("", "nan", "<na>", "null")  # compared lowercased: NaN, NULL, <NA> ...


def normalise_label(value: object) -> str | None:
    """One spelling per label: surrounding spaces dropped, integral numbers as integers (``1``,
    ``1.0``, `` 1`` and ``1e0`` are all ``"1"``); None for a missing label (empty, NaN, null)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    if text.lower() in MISSING_LABELS:
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if math.isfinite(number) and number.is_integer() else text


def clean_rows(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Normalise labels (``normalise_label``); drop rows with an empty/null text or a missing
    label (with a warning count); error if none remain."""
    text = frame["text"].astype("string").str.strip()
    bad_text = text.isna() | (text == "")
    labels = pd.Series(
        [normalise_label(v) for v in frame["label"]], index=frame.index, dtype=object
    )
    bad_label = labels.isna()
    bad = bad_text | bad_label
    if bad.all():
        raise DataError(
            f"every row of {source} has an empty or null text or label ({len(frame)} rows); "
            "check --text-column / --label-column point at the right columns"
        )
    if bad.any():
        logger.warning(
            "%s: dropped %d of %d rows with empty/null text (%d) or missing label (%d: empty, NaN, null)",
            source,
            int(bad.sum()),
            len(frame),
            int(bad_text.sum()),
            int(bad_label.sum()),
        )
    return pd.DataFrame({"text": text[~bad].astype(str).tolist(), "label": labels[~bad].tolist()})
