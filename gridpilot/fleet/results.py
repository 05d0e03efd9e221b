"""Results: streamed as they finish to ``DIR/results.jsonl`` (one JSON row a line, flushed after
every task, so an interrupted run keeps all it finished), then written sorted as
``DIR/results.parquet`` (pyarrow) or ``DIR/results.csv`` when pyarrow is absent.

The sorted file is the same for any executor and any number of workers: rows are ordered by
site and variant, and hold nothing that depends on where or when they ran.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from gridpilot.errors import DataError
from gridpilot.fleet.task import ROW_FIELDS, Row

__all__ = ["JOURNAL", "Journal", "have_pyarrow", "read_journal", "read_results",
           "write_results"]

JOURNAL = "results.jsonl"
_FLOATS = frozenset(ROW_FIELDS) - {"site", "site_index", "variant", "settings", "status",
                                   "error", "currency"}


def have_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


class Journal:
    """Appends rows to ``results.jsonl`` as tasks finish."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] = path.open("a", encoding="utf-8")

    def write(self, rows: Iterable[Row]) -> None:
        for row in rows:
            self._fh.write(json.dumps(row, allow_nan=False, sort_keys=True) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def read_journal(path: Path) -> list[Row]:
    """The rows of a journal; a last line cut short by an interruption is ignored, and the
    latest row of a site × variant wins (a ``lost`` one run again on ``--resume``)."""
    rows: dict[tuple[int, int], Row] = {}
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and "site_index" in row and "variant" in row:
                rows[(int(row["site_index"]), int(row["variant"]))] = row
    return list(rows.values())


def _sorted(rows: Iterable[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: (int(r["site_index"]), int(r["variant"])))


def write_results(out_dir: Path, rows: Iterable[Row]) -> Path:
    """Write the sorted results file; returns its path."""
    ordered = [{k: row.get(k) for k in ROW_FIELDS} for row in _sorted(rows)]
    if have_pyarrow():
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([
            (k, pa.float64() if k in _FLOATS else pa.int64() if k in ("site_index", "variant")
             else pa.string()) for k in ROW_FIELDS])
        table = pa.Table.from_pylist(ordered, schema=schema)
        path = out_dir / "results.parquet"
        pq.write_table(table, path)
        return path
    path = out_dir / "results.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(ROW_FIELDS))
        w.writeheader()
        for row in ordered:
            w.writerow({k: "" if v is None else v for k, v in row.items()})
    return path


def read_results(path: str | Path) -> list[Row]:
    """Rows of a ``results.parquet``, ``results.csv`` or ``results.jsonl``."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: not found (a fleet's results file, written by fleet simulate)")
    if p.suffix == ".parquet":
        if not have_pyarrow():
            raise DataError(f"{p}: reading Parquet needs pyarrow: pip install "
                            '"gridpilot[fleet]"')
        import pyarrow.parquet as pq

        try:
            rows: list[Row] = pq.read_table(p).to_pylist()
        except Exception as exc:  # pyarrow raises its own many kinds for a bad file
            raise DataError(f"{p}: not a readable Parquet file ({exc})") from None
    elif p.suffix == ".jsonl":
        rows = read_journal(p)
    else:
        with p.open(newline="", encoding="utf-8") as fh:
            rows = [_typed(r) for r in csv.DictReader(fh)]
    missing = {"site", "variant", "settings", "status", "bill"} - set(rows[0] if rows else {})
    if missing:
        raise DataError(f"{p}: not a fleet results file (no column {', '.join(sorted(missing))})")
    return _sorted(rows)


def _typed(row: dict[str, str]) -> Row:
    out: Row = dict(row)
    for k, v in row.items():
        if k in _FLOATS:
            out[k] = float(v) if v not in ("", None) else None
            if out[k] is not None and not math.isfinite(out[k]):
                out[k] = None
        elif k in ("site_index", "variant"):
            out[k] = int(v)
    return out
