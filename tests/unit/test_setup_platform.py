"""envs/setup-cpu.sh refuses, in one line and before installing anything, a platform its CPU wheels do not
exist for (README.md, Platforms)."""

import os
import subprocess

import pytest

from helpers import REPO


@pytest.mark.parametrize("system, machine", [("Darwin", "arm64"), ("Linux", "aarch64")])
def test_the_cpu_setup_refuses_other_platforms_in_one_line(tmp_path, system, machine):
    fake = tmp_path / "uname"
    fake.write_text(f'#!/bin/sh\ncase "$1" in -s) echo {system};; -m) echo {machine};; *) echo {system};; esac\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(REPO / "envs/setup-cpu.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"envs/setup-cpu.sh: the CPU setup needs Linux on x86-64 (this machine: {system} {machine}); see README.md, Platforms"
    ]
