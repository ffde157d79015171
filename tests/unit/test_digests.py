"""Content digests: equal for equal rows however the file was cut, different for any changed value."""

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from workflow_scripts import digests

from helpers import REPO


def table(n=1000, change=None):
    rng = np.random.default_rng(0)
    reward = rng.normal(size=n)
    if change is not None:
        reward[change] = np.nextafter(reward[change], np.inf)  # the smallest possible change
    return pa.table(
        {
            "prompt_id": [f"p{i // 7}" for i in range(n)],
            "sample_index": pa.array(np.arange(n) % 7, pa.int32()),
            "response": [None if i % 11 == 0 else f"text {i}" for i in range(n)],
            "reward": reward,
        }
    )


def test_table_digest_ignores_row_groups_compression_and_metadata(tmp_path, monkeypatch):
    monkeypatch.setattr(digests, "BATCH_ROWS", 64)  # several re-cut batches, crossing row-group borders
    pq.write_table(table(), tmp_path / "a.parquet", row_group_size=100)
    pq.write_table(
        table().replace_schema_metadata({"writer": "other"}), tmp_path / "b.parquet", row_group_size=333, compression="zstd"
    )
    pq.write_table(table(change=777), tmp_path / "c.parquet", row_group_size=100)
    pq.write_table(table(n=999), tmp_path / "d.parquet", row_group_size=100)
    a, b, c, d = (digests.table_digest(tmp_path / f"{x}.parquet") for x in "abcd")
    assert a == b
    assert len({a, c, d}) == 3


def test_json_digest_ignores_key_order_and_cli_lists_every_file(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run/x.json").write_text(json.dumps({"a": 1, "b": [1, 2]}))
    (tmp_path / "y.json").write_text(json.dumps({"b": [1, 2], "a": 1}, indent=2))
    pq.write_table(table(10), tmp_path / "run/t.parquet")
    (tmp_path / "run/.snakemake_timestamp").write_text("")
    assert digests.file_digest(tmp_path / "run/x.json") == digests.file_digest(tmp_path / "y.json")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-m", "workflow_scripts.digests", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert [line.split("  ")[1] for line in out.splitlines()] == ["run/t.parquet", "run/x.json"]
    missing = subprocess.run(
        [sys.executable, "-m", "workflow_scripts.digests", "nothing"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert missing.returncode == 2 and "[file nothing] no such file or directory" in missing.stderr
