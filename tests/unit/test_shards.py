"""Shard ranges, row-range reads, gathering with key checks, and the data-parallel device split."""

import os
import stat

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workflow_scripts.errors import UserError
from workflow_scripts.runtime.chunks import Checkpoints, data_parallel_size, worker_devices
from workflow_scripts.runtime.scatter import RowRangeReader, gather, shard_bounds
from workflow_scripts.stages.generation import expected_generation_keys

SCHEMA = pa.schema([("prompt_id", pa.string()), ("language", pa.string()), ("sample_index", pa.int32()), ("value", pa.int64())])


@pytest.mark.parametrize("total", [0, 1, 5, 7, 64, 1001])
@pytest.mark.parametrize("shards", [1, 2, 3, 8])
def test_shards_cover_every_row_once_in_order(total, shards):
    ranges = [shard_bounds(total, k, shards) for k in range(shards)]
    covered = [i for lo, hi in ranges for i in range(lo, hi)]
    assert covered == list(range(total))
    sizes = [hi - lo for lo, hi in ranges]
    assert max(sizes) - min(sizes) <= 1


def rows(ids, samples=2, language="en", start_value=0):
    n = len(ids) * samples
    return pa.table(
        {
            "prompt_id": [p for p in ids for _ in range(samples)],
            "language": [language] * n,
            "sample_index": pa.array([i for _ in ids for i in range(samples)], pa.int32()),
            "value": list(range(start_value, start_value + n)),
        },
        schema=SCHEMA,
    )


def write(path, table, row_group_size=None):
    pq.write_table(table, path, row_group_size=row_group_size)
    return str(path)


def test_row_range_reader_reads_across_row_groups(tmp_path):
    table = rows([f"p{i}" for i in range(10)])  # 20 rows
    path = write(tmp_path / "t.parquet", table, row_group_size=6)
    reader = RowRangeReader(path, ["prompt_id", "value"])
    assert reader.num_rows == 20
    for lo, hi in [(0, 20), (0, 6), (5, 13), (12, 12), (18, 20), (6, 12)]:
        assert reader.read(lo, hi).column("value").to_pylist() == list(range(lo, hi))


@pytest.fixture
def prompts_file(tmp_path):
    return write(tmp_path / "prompts.parquet", pa.table({"prompt_id": ["a", "b", "c", "d"]}))


def test_gather_concatenates_shards_in_order(tmp_path, prompts_file):
    expected = expected_generation_keys(prompts_file, "en", 2)
    shards = [write(tmp_path / "s0.parquet", rows(["a"])), write(tmp_path / "s1.parquet", rows(["b", "c", "d"], start_value=2))]
    out = tmp_path / "out.parquet"
    assert gather(shards, out, SCHEMA, expected, "samples") == 8
    assert pq.read_table(out).column("value").to_pylist() == list(range(8))


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "hold 6 of the 8 samples: 2 missing"),
        ("duplicated", "row 3 is"),
        ("extra", "more row(s) than the 8 samples"),
        ("reordered", "row 1 is"),
        ("column", "lacks column(s) value"),
    ],
)
def test_gather_refuses_lost_duplicated_or_reordered_rows_and_writes_nothing(tmp_path, prompts_file, case, message):
    expected = expected_generation_keys(prompts_file, "en", 2)
    first = {
        "missing": rows(["a", "b"]),
        "duplicated": rows(["a", "a"]),
        "extra": rows(["a", "b"]),
        "reordered": rows(["b", "a"]),
        "column": rows(["a", "b"]).drop(["value"]),
    }[case]
    rest = {"missing": rows(["c"]), "extra": rows(["c", "d", "d"])}.get(case, rows(["c", "d"]))
    shards = [write(tmp_path / "s0.parquet", first), write(tmp_path / "s1.parquet", rest)]
    out = tmp_path / "out.parquet"
    with pytest.raises(UserError) as err:
        gather(shards, out, SCHEMA, expected, "samples")
    assert message in str(err.value)
    assert "s0.parquet" in str(err.value) or "s1.parquet" in str(err.value) or case == "missing"
    assert not out.exists() and not list(tmp_path.glob(".out.parquet*")), "no partial output"


def test_data_parallel_size_and_device_split():
    gpus = [str(i) for i in range(8)]
    assert data_parallel_size("auto", 1, gpus) == 8
    assert data_parallel_size("auto", 2, gpus) == 4
    assert data_parallel_size("auto", 1, []) == 1
    with pytest.raises(UserError, match="engine.data_parallel_size"):
        data_parallel_size(4, 4, gpus)
    assert worker_devices(4, 2, gpus, []) == [{"CUDA_VISIBLE_DEVICES": f"{2 * r},{2 * r + 1}"} for r in range(4)]
    cpu = worker_devices(2, 1, [], [0, 1, 2, 3, 4])
    assert [w["VLLM_CPU_OMP_THREADS_BIND"] for w in cpu] == ["0,1", "2,3,4"]
    with pytest.raises(UserError, match="cores"):
        worker_devices(3, 1, [], [0, 1])


def test_checkpoints_are_kept_for_the_same_work_and_dropped_for_other_work(tmp_path):
    out = tmp_path / "x.parquet"
    first = Checkpoints(out, ["spec", 1])
    first.write(0, pa.table({"a": [1]}))
    assert Checkpoints(out, ["spec", 1]).path(0).is_file()
    assert not Checkpoints(out, ["spec", 2]).path(0).exists()


def test_a_killed_writers_temporary_files_are_swept_by_the_next_writer(tmp_path):
    """A job killed before its rename leaves `.<name>.<random>.tmp` beside its output (a file, or an adapter's
    directory): the rerun's writer removes it, and nothing of another output."""
    from workflow_scripts.runtime.atomic import atomic_directory, atomic_file

    adapter = tmp_path / "adapters/maxr"
    stale_dir = tmp_path / "adapters/.maxr.k1ll3d.tmp"
    stale_dir.mkdir(parents=True)
    (stale_dir / "adapter_model.safetensors").write_bytes(b"half")
    other = tmp_path / "adapters/.sft.k1ll3d.tmp"
    other.mkdir()
    with atomic_directory(adapter) as tmp:
        (tmp / "adapter_config.json").write_text("{}")
    assert not stale_dir.exists() and other.exists() and (adapter / "adapter_config.json").is_file()
    table = tmp_path / "scores.parquet"
    (tmp_path / ".scores.parquet.k1ll3d.tmp").write_bytes(b"half")
    with atomic_file(table) as tmp:
        tmp.write_bytes(b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapters", "scores.parquet"]


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_what_is_renamed_into_place_has_the_modes_the_umask_gives(tmp_path, umask):
    """Temporary files and directories are private (mkstemp, mkdtemp), and safetensors writes its files 0600:
    renamed into place as they are, a collaborator on shared storage could not read them. Results get what
    a plain open() or mkdir would give under the umask, and an executable keeps its execute bits."""
    import numpy as np
    from safetensors.numpy import save_file

    from workflow_scripts.runtime.atomic import atomic_directory, atomic_file, write_json

    previous = os.umask(umask)
    try:
        write_json({"a": 1}, tmp_path / "result.json")
        with atomic_file(tmp_path / "table.parquet") as tmp:
            tmp.write_bytes(b"whole")
        with atomic_directory(tmp_path / "adapter") as tmp:
            save_file({"w": np.zeros(2, dtype=np.float32)}, tmp / "adapter_model.safetensors")
            (tmp / "checkpoint-1").mkdir(mode=0o700)
            (tmp / "checkpoint-1/run.sh").write_text("#!/bin/sh\n")
            os.chmod(tmp / "checkpoint-1/run.sh", 0o700)
    finally:
        os.umask(previous)

    def mode(relative):
        return stat.S_IMODE((tmp_path / relative).stat().st_mode)

    assert mode("result.json") == mode("table.parquet") == 0o666 & ~umask
    assert mode("adapter/adapter_model.safetensors") == 0o666 & ~umask
    assert mode("adapter") == mode("adapter/checkpoint-1") == 0o777 & ~umask
    assert mode("adapter/checkpoint-1/run.sh") == 0o777 & ~umask
