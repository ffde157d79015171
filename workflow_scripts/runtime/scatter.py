"""Scatter and gather: a step's work split into jobs (generation by prompts, scoring by samples), and the
shards joined into one table after.

Shard k of K covers the contiguous range [k*N/K, (k+1)*N/K), so the shards concatenated in order are the
unsharded table. Gathering streams the shards row group by row group into one file (atomically) and checks
the keys against what must be there: exactly n samples of every prompt, in the prompts' order, for
generations; exactly the generations' samples, in order, for scores. A lost or duplicated row is an error
that names the shard, never a silently short table.

The shard files are temporary (`planning.layout.shard_files`); the gather's params hold the sharded step's spec
(GatherSpec), so a change that would alter a deleted shard still reruns the gather, and through it the shards.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from workflow_scripts.errors import UserError
from workflow_scripts.runtime.atomic import atomic_file
from workflow_scripts.runtime.spec import Spec


@dataclass(frozen=True)
class GatherSpec(Spec):
    """What a gather's (temporary) shards were computed from: the sharded step's spec, and the gather's code."""

    shards: dict  # the params of the sharded step's spec
    code: str


def shard_bounds(total: int, shard: int, shards: int) -> tuple[int, int]:
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} of {shards}")
    return total * shard // shards, total * (shard + 1) // shards


def job_shard(snakemake, total: int, what: str) -> tuple[int, int]:
    """[start, stop) of the job's shard (`params.shard`: [k, K]) of `total` items, said in the log."""
    shard, shards = snakemake.params.shard
    start, stop = shard_bounds(total, shard, shards)
    print(f"[croco] shard {shard + 1} of {shards}: {what} {start + 1}-{stop} of {total}", flush=True)
    return start, stop


class RowRangeReader:
    """Rows [start, stop) of a Parquet file, read through its row groups (the last one kept in memory)."""

    def __init__(self, path: str | os.PathLike, columns: list[str]):
        self.path, self.columns = str(path), columns
        self.file = None
        meta = pq.ParquetFile(self.path).metadata
        self.starts, offset = [], 0
        for i in range(meta.num_row_groups):
            self.starts.append(offset)
            offset += meta.row_group(i).num_rows
        self.num_rows = offset
        self._cached = (None, None)

    def __getstate__(self):  # picklable for data-parallel workers: reopen the file there
        return {**self.__dict__, "file": None, "_cached": (None, None)}

    def _group(self, i: int) -> pa.Table:
        if self._cached[0] != i:
            if self.file is None:
                self.file = pq.ParquetFile(self.path)
            self._cached = (i, self.file.read_row_group(i, columns=self.columns))
        return self._cached[1]

    def read(self, start: int, stop: int) -> pa.Table:
        pieces = []
        for i, group_start in enumerate(self.starts):
            group_stop = self.starts[i + 1] if i + 1 < len(self.starts) else self.num_rows
            if group_stop <= start or group_start >= stop:
                continue
            lo, hi = max(start, group_start), min(stop, group_stop)
            pieces.append(self._group(i).slice(lo - group_start, hi - lo))
        if not pieces:
            return pa.schema([pq.read_schema(self.path).field(c) for c in self.columns]).empty_table()
        return pa.concat_tables(pieces)


def _key_mismatch(expected: pa.Table, got: pa.Table) -> int | None:
    """Index of the first row whose key differs, or None."""
    same = None
    for name in expected.column_names:
        eq = pc.equal(expected.column(name), got.column(name).cast(expected.schema.field(name).type)).fill_null(False)
        same = eq if same is None else pc.and_(same, eq)
    if same is None or pc.all(same).as_py():
        return None
    return pc.index(same, False).as_py()


def gather(shards: list[str], output: str | os.PathLike, schema: pa.Schema, expected_keys: pa.Table, what: str) -> int:
    """Concatenate `shards` into `output`, checking every row's key against `expected_keys`, in order."""
    position, total = 0, expected_keys.num_rows
    with atomic_file(output) as tmp, pq.ParquetWriter(tmp, schema) as writer:
        for shard in shards:
            parquet = pq.ParquetFile(shard)
            missing = [f for f in schema.names if f not in parquet.schema_arrow.names]
            if missing:
                raise UserError(f"shard lacks column(s) {', '.join(missing)}", file=shard, field=missing[0])
            for i in range(parquet.metadata.num_row_groups):
                table = parquet.read_row_group(i).select(schema.names).cast(schema)
                if position + table.num_rows > total:
                    raise UserError(
                        f"{position + table.num_rows - total} more row(s) than the {total} {what}: duplicated rows", file=shard
                    )
                keys = table.select(expected_keys.column_names)
                bad = _key_mismatch(expected_keys.slice(position, table.num_rows), keys)
                if bad is not None:
                    want = expected_keys.slice(position + bad, 1).to_pylist()[0]
                    got = keys.slice(bad, 1).to_pylist()[0]
                    raise UserError(
                        f"row {position + bad + 1} is {got}, expected {want}: shards lost, duplicated or reordered {what}",
                        file=shard,
                    )
                writer.write_table(table)
                position += table.num_rows
        if position != total:
            raise UserError(
                f"the shards hold {position} of the {total} {what}: {total - position} missing",
                file=str(Path(shards[-1]).parent) if shards else None,
            )
    return position


def gather_step(snakemake, schema: pa.Schema, expected_keys: pa.Table, what: str) -> int:
    """A gather job: its `input.shards` joined into its output, every row's key checked against `expected_keys`."""
    rows = gather(list(snakemake.input.shards), snakemake.output[0], schema, expected_keys, what)
    print(f"[croco] gathered {len(snakemake.input.shards)} shard(s): {rows} {what}", flush=True)
    return rows
