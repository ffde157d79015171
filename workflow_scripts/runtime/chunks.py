"""Chunked engine work: checkpoints that survive a kill, and data parallelism over a job's GPUs.

A step splits its work into chunks (prompts for generation, samples for scoring). Every finished chunk is
written atomically to `<output>.parts/chunk-NNNNNNNNN.parquet`, in a directory tagged with a digest of
everything that determines the results. A rerun keeps the chunks with a matching digest and does the rest;
the output is assembled from the chunks, in order, atomically, and the checkpoints are then removed. A
killed job (time limit, preemption) therefore loses at most the chunks it was working on, and no row is
ever duplicated or missing.

With data parallelism (`engine.data_parallel_size`), the pending chunks are dealt round-robin to worker
processes, each with its own engine on its own slice of the job's GPUs (`tensor_parallel_size` GPUs each,
via CUDA_VISIBLE_DEVICES) or, on a CPU, its own cores. Samples are seeded per request, so the number of
workers does not change them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from workflow_scripts.errors import UserError
from workflow_scripts.runtime import forkserver
from workflow_scripts.runtime.atomic import atomic_file
from workflow_scripts.runtime.step import child_env, run_worker


class ChunkedWork(Protocol):
    """What a step hands to `run_chunked`; it must pickle (workers receive it in a file)."""

    schema: pa.Schema
    label: str

    def chunk_count(self) -> int: ...

    def make_engine(self): ...

    def run_chunk(self, engine, index: int) -> pa.Table: ...


class Checkpoints:
    """`<output>.parts/`: one Parquet file per finished chunk; emptied when made for other results."""

    def __init__(self, output, key) -> None:
        self.dir = Path(f"{output}.parts")
        digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
        tag = self.dir / "samples.sha256"
        if self.dir.exists() and (not tag.is_file() or tag.read_text() != digest):
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        if not tag.is_file():
            with atomic_file(tag) as tmp:
                tmp.write_text(digest)

    def path(self, index: int) -> Path:
        return self.dir / f"chunk-{index:09d}.parquet"

    def write(self, index: int, table: pa.Table) -> None:
        with atomic_file(self.path(index)) as tmp:
            pq.write_table(table, tmp)


def visible_gpus() -> list[str]:
    """The GPUs this job may use: CUDA_VISIBLE_DEVICES (SLURM sets it for --gpus), else all."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d for d in listed.split(",") if d.strip() and d.strip() != "-1"]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []


def data_parallel_size(setting, tensor_parallel: int, gpus: list[str]) -> int:
    """`auto`: as many engines as the job's GPUs hold at `tensor_parallel` GPUs each (1 on a CPU)."""
    if setting == "auto":
        return max(1, len(gpus) // tensor_parallel) if gpus else 1
    size = int(setting)
    if gpus and size * tensor_parallel > len(gpus):
        raise UserError(
            f"{size} engines x {tensor_parallel} GPUs (tensor_parallel_size) need {size * tensor_parallel} GPUs, "
            f"the job has {len(gpus)} ({','.join(gpus)}); ask for more in resources.engine.gpu",
            field="engine.data_parallel_size",
        )
    return size


def worker_devices(size: int, tensor_parallel: int, gpus: list[str], cpus: list[int]) -> list[dict[str, str]]:
    """Environment of each worker: its GPUs, or on a CPU its share of the job's cores."""
    if gpus:
        return [{"CUDA_VISIBLE_DEVICES": ",".join(gpus[r * tensor_parallel : (r + 1) * tensor_parallel])} for r in range(size)]
    if size > len(cpus):
        raise UserError(
            f"{size} CPU engines need at least {size} cores, the job has {len(cpus)}", field="engine.data_parallel_size"
        )
    shares = [cpus[r * len(cpus) // size : (r + 1) * len(cpus) // size] for r in range(size)]
    return [{"VLLM_CPU_OMP_THREADS_BIND": ",".join(map(str, share)), "OMP_NUM_THREADS": str(len(share))} for share in shares]


def run_chunks(work: ChunkedWork, checkpoints: Checkpoints, indices: list[int], prefix: str = "") -> None:
    """Do the given chunks in this process, with one engine."""
    engine = work.make_engine()
    started, rows = time.time(), 0
    for done, index in enumerate(indices, 1):
        table = work.run_chunk(engine, index)
        checkpoints.write(index, table)
        rows += table.num_rows
        print(
            f"[croco] {prefix}{work.label}: chunk {index + 1} done, {done}/{len(indices)} of this run "
            f"({rows / max(time.time() - started, 1e-9):.1f} rows/s)",
            flush=True,
        )


def run_workers(work: ChunkedWork, checkpoints: Checkpoints, pending: list[int], envs: list[dict[str, str]]) -> None:
    """Deal the pending chunks round-robin to one worker process per environment, and wait for all."""
    procs = []
    for rank, extra in enumerate(envs):
        share = pending[rank :: len(envs)]
        if not share:
            continue
        order = checkpoints.dir / f"worker-{rank}.pkl"
        with atomic_file(order) as tmp:
            tmp.write_bytes(pickle.dumps((work, checkpoints, share)))
        env = child_env(**extra)
        print(f"[croco] worker {rank}: {len(share)} chunk(s) on {extra}", flush=True)
        # Forked from the preloaded interpreter when the run has one (workflow_scripts.runtime.forkserver), else started:
        # the worker itself asks to die with this process (no code may run between fork and exec while this
        # process has other threads, such as its log's).
        arguments = [str(order), str(rank), str(os.getpid())]
        proc = forkserver.submit("workflow_scripts.runtime.chunks", "worker_main", (arguments,), start=False, env=env)
        if isinstance(proc, forkserver.Refused):
            print(f"[croco] worker {rank}: {proc.reason}", flush=True)
        if not isinstance(proc, forkserver.Forked):
            proc = subprocess.Popen([sys.executable, "-m", "workflow_scripts.runtime.chunks", *arguments], env=env)
        procs.append((rank, proc))
    failed = [(rank, proc.wait()) for rank, proc in procs]
    failed = [(rank, code) for rank, code in failed if code != 0]
    if failed:
        raise UserError(
            f"{len(failed)} of {len(procs)} data-parallel worker(s) failed "
            f"({', '.join(f'worker {r}: exit {c}' for r, c in failed)}; their messages are above). "
            f"Finished chunks are kept in {checkpoints.dir}: a rerun resumes from them"
        )


def run_chunked(work: ChunkedWork, output, key, engine_config: dict) -> None:
    """Produce `output` from the work's chunks: resume, run the rest (data-parallel if asked), assemble."""
    checkpoints = Checkpoints(output, key)
    total = work.chunk_count()
    pending = [i for i in range(total) if not checkpoints.path(i).is_file()]
    if total - len(pending):
        print(f"[croco] resuming: {total - len(pending)} of {total} chunks already done in {checkpoints.dir}", flush=True)
    if pending:
        tensor_parallel = engine_config.get("tensor_parallel_size", 1)
        gpus = visible_gpus()
        size = min(data_parallel_size(engine_config.get("data_parallel_size", 1), tensor_parallel, gpus), len(pending))
        if size > 1:
            envs = worker_devices(size, tensor_parallel, gpus, sorted(os.sched_getaffinity(0)))
            run_workers(work, checkpoints, pending, envs)
        else:
            run_chunks(work, checkpoints, pending)
    # Assemble chunk by chunk (one row group each): memory stays bounded by a chunk.
    with atomic_file(output) as tmp, pq.ParquetWriter(tmp, work.schema) as writer:
        for index in range(total):
            writer.write_table(pq.read_table(checkpoints.path(index), schema=work.schema))
    shutil.rmtree(checkpoints.dir)


def chunk_count(items: int, per_chunk: int) -> int:
    return math.ceil(items / per_chunk) if items else 0


def worker_main(argv: list[str]) -> int:
    """python -m workflow_scripts.runtime.chunks ORDER RANK PARENT: a data-parallel worker (started by run_workers).
    It must not outlive its job's process PARENT (Snakemake cancelling it, a SIGTERM from SLURM)."""
    from workflow_scripts.runtime.processes import die_with_parent

    order, rank = Path(argv[0]), int(argv[1])
    if __name__ == "__main__":  # started, not forked by the server (a forked worker dies with its job's connection)
        die_with_parent(int(argv[2]))
    work, checkpoints, indices = pickle.loads(order.read_bytes())
    return run_worker(lambda: run_chunks(work, checkpoints, indices, prefix=f"worker {rank}: "), f"worker {rank}")


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
