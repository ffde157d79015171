"""Content digests of result files, to check that two runs (or two machines) produced the same data.

A Parquet file's bytes can differ while its rows do not (writer version, row-group sizes, schema
metadata), so a table is hashed by content: its schema without metadata, then its rows re-cut into
fixed-size record batches in Arrow's IPC format, streamed so paper-scale tables need little memory.
JSON files are hashed canonically (sorted keys); any other file by its bytes.

    python -m workflow_scripts.digests results/generations results/scores results/datasets
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from workflow_scripts.errors import UserError
from workflow_scripts.runtime.fingerprint import file_sha256

BATCH_ROWS = 65_536


def _batch_bytes(table: pa.Table) -> bytes:
    return table.combine_chunks().to_batches()[0].serialize().to_pybytes() if table.num_rows else b""


def table_digest(path: str | Path) -> str:
    """SHA-256 of a Parquet table's schema and rows, independent of how the file was cut into row groups."""
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise UserError(f"not a readable Parquet file: {exc}", file=str(path)) from None
    schema = parquet.schema_arrow.remove_metadata()
    h = hashlib.sha256(schema.serialize().to_pybytes())
    pending = schema.empty_table()
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
        pending = pa.concat_tables([pending, pa.Table.from_batches([batch]).cast(schema)])
        while pending.num_rows >= BATCH_ROWS:
            h.update(_batch_bytes(pending.slice(0, BATCH_ROWS)))
            pending = pending.slice(BATCH_ROWS)
    h.update(_batch_bytes(pending))
    return h.hexdigest()


def file_digest(path: str | Path) -> str:
    path = Path(path)
    if path.suffix == ".parquet":
        return table_digest(path)
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise UserError(f"not valid JSON: {exc}", file=str(path)) from None
        return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return file_sha256(path)


def digests(paths: list[str | Path], root: str | Path = ".") -> dict[str, str]:
    """Digest of every file under the given files or directories, keyed by path relative to `root`.
    Snakemake's own bookkeeping files (.snakemake_timestamp) are left out: they hold a time."""
    root = Path(root)
    found = {}
    for path in map(Path, paths):
        if not path.exists():
            raise UserError("no such file or directory", file=str(path))
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.name != ".snakemake_timestamp":
                found[str(file.relative_to(root) if file.is_relative_to(root) else file)] = file_digest(file)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", help="files or directories (every file under them)")
    args = parser.parse_args(argv)
    try:
        for path, value in digests(args.paths).items():
            print(f"{value}  {path}")
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
