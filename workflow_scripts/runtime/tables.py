"""Reading user tables (JSONL, Parquet, CSV) and checking columns, with errors that name file and field."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from workflow_scripts.errors import UserError


def require_utf8(path: str | os.PathLike) -> None:
    """A text file must be UTF-8: name the first line that is not (pyarrow would read the bytes into a string
    column unchecked, and a later step would stop on them with a traceback)."""
    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UserError(
                    f"line {number} is not UTF-8 (byte 0x{line[exc.start]:02x} at column {exc.start + 1}); "
                    "save the file as UTF-8",
                    file=str(path),
                    field="encoding",
                ) from None


def read_table(path: str | os.PathLike, columns: list[str] | None = None) -> pa.Table:
    path = Path(path)
    if not path.is_file():
        raise UserError("file not found", file=str(path))
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".csv"):
        require_utf8(path)
    try:
        if suffix == ".parquet":
            table = pq.read_table(path, columns=columns)
        elif suffix in (".jsonl", ".json"):
            table = pajson.read_json(path) if path.stat().st_size else pa.table({})
        elif suffix == ".csv":
            table = pacsv.read_csv(path)
        else:
            raise UserError("unsupported format (use .jsonl, .parquet or .csv)", file=str(path))
    except (pa.ArrowInvalid, OSError) as exc:
        if isinstance(exc, UserError):
            raise
        raise UserError(f"cannot read: {exc}", file=str(path)) from None
    return table


def require_columns(table: pa.Table, path, spec: dict[str, str]) -> None:
    """spec: column -> 'string' | 'integer' | 'float' | 'boolean'."""
    for column, kind in spec.items():
        if column not in table.column_names:
            raise UserError(f"missing column (has: {', '.join(table.column_names) or 'none'})", file=str(path), field=column)
        typ = table.schema.field(column).type
        ok = {
            "string": pa.types.is_string(typ) or pa.types.is_large_string(typ),
            "integer": pa.types.is_integer(typ),
            "float": pa.types.is_floating(typ),
            "boolean": pa.types.is_boolean(typ),
        }[kind]
        if not ok and not pa.types.is_null(typ):
            raise UserError(f"expected {kind} values, found {typ}", file=str(path), field=column)


def require_unique_keys(table: pa.Table, path, keys: list[str]) -> None:
    """Every row's key (a combination of columns) must be unique: a duplicated row would be counted twice."""
    counts = table.select(keys).group_by(keys).aggregate([([], "count_all")])
    dupes = counts.filter(pc.greater(counts.column("count_all"), 1))
    if dupes.num_rows:
        first = dupes.slice(0, 1).to_pylist()[0]
        example = ", ".join(f"{k}={first[k]}" for k in keys)
        raise UserError(
            f"{dupes.num_rows} key(s) occur more than once, e.g. {example} ({first['count_all']} rows)",
            file=str(path),
            field=", ".join(keys),
        )


def require_language(column, lang: str, path) -> None:
    """Every row of a per-language table (a column of its batch) must be in `lang`."""
    wrong = pc.sum(pc.not_equal(column, lang).cast(pa.int64())).as_py() or 0
    if wrong:
        raise UserError(f"{wrong} row(s) are not in language '{lang}'", file=str(path), field="language")


def require_non_empty_strings(table: pa.Table, path, column: str) -> None:
    values = table.column(column)
    empty = pc.or_(pc.is_null(values), pc.equal(pc.utf8_trim_whitespace(values.fill_null("")), ""))
    bad = pc.sum(empty.cast(pa.int64())).as_py() or 0
    if bad:
        first = pc.index(empty, True).as_py()
        ids = table.column("prompt_id")[first].as_py() if "prompt_id" in table.column_names else first
        raise UserError(f"{bad} empty value(s), first at prompt_id {ids}", file=str(path), field=column)


def require_parquet_columns(path, spec: dict[str, str]) -> None:
    """Check that a Parquet file exists, is readable and has the columns in `spec` with the right types."""
    path = Path(path)
    if not path.is_file():
        raise UserError("file not found", file=str(path))
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise UserError(f"not a readable Parquet file: {exc}", file=str(path)) from None
    require_columns(schema.empty_table(), path, spec)


def read_parquet_columns(path, spec: dict[str, str]) -> pa.Table:
    """Read only the columns in `spec`, after checking they exist with the right types."""
    require_parquet_columns(path, spec)
    return pq.read_table(path, columns=list(spec))
