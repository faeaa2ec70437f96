"""Training across processes: torchrun with two CPU processes (gloo) on the toy contest.

The claim under test: two processes, each computing one part of every step's batch,
train exactly as one process with ``micro_batches=2`` (the same parts, one after the
other). With one thread per process (train_threads, 1 by default) the float sums run
in the same order, so the tolerance is zero: the weights are bit-identical (with two
threads the order of float sums differs; measured here: max weight difference 1.7e-4
after 8 steps). The
same run is killed after its first epoch and resumed under torchrun, so the equality
also covers exact resuming across processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from fakevoice.errors import FakevoiceError
from fakevoice.runs import read_json, read_manifest
from fakevoice.train.config import resolve
from fakevoice.train.distributed import World
from fakevoice.train.loop import train
from fakevoice.train.stages import Shards
from fakevoice.train.step import resolve_precision

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
SETS = ["steps_per_epoch=3", "val_scenes=32", "batch_size=16"]


def torchrun(*args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "fakevoice",
        *args,
    ]


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "model.pt", weights_only=True)["model"]


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _held(cmd: list[str], ranks: int, timeout: float = 240.0) -> None:
    """Run ``cmd`` until all ``ranks`` say they are held after their first epoch, then
    SIGKILL torchrun outright; its workers (in sessions of their own, out of reach of the
    signal) must notice and exit by themselves."""
    env = {**ENV, "FAKEVOICE_HOLD_AFTER": "epochs:1"}
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline, held, seen = time.monotonic() + timeout, 0, []
    try:
        assert proc.stderr is not None
        for line in iter(proc.stderr.readline, b""):
            seen.append(line)
            held += b"held after" in line
            if held == ranks or time.monotonic() > deadline:
                break
        assert held == ranks, b"".join(seen[-20:]).decode(errors="replace")
    finally:
        workers = _children(proc.pid)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert len(workers) == ranks
    end = time.monotonic() + 15
    while any(_alive(w) for w in workers) and time.monotonic() < end:
        time.sleep(0.2)
    left = [w for w in workers if _alive(w)]
    for w in left:
        os.kill(w, signal.SIGKILL)
    assert not left, f"torchrun's workers {left} outlived it"


@pytest.mark.slow
def test_two_gloo_processes_train_as_one_process_in_two_parts_and_resume_exactly(
    toy_contest: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache" / "features"
    one = tmp_path / "one"
    cfg = resolve("detector", epochs=2, sets=[*SETS, "micro_batches=2"])
    ref = train(cfg, toy_contest, one, cache_dir=cache)

    two = tmp_path / "two"
    sets = [a for s in SETS for a in ("--set", s)]
    args = ["train", str(toy_contest), "--out", str(two), "--epochs", "2", *sets]
    args += ["--cache-dir", str(cache)]
    _held(torchrun(*args), ranks=2)
    assert torch.load(two / "checkpoint.pt", weights_only=True)["epoch"] == 1
    assert read_manifest(two)["state"] == "training" and not (two / "model.pt").exists()

    proc = subprocess.run(
        torchrun(*args, "--resume"), env=ENV, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("validation score") == 1  # rank 0 speaks for both
    a, b = _weights(one), _weights(two)
    assert a.keys() == b.keys()
    worst = max(float((a[k].double() - b[k].double()).abs().max()) for k in a)
    assert worst == 0.0, f"weights differ by up to {worst}"
    got = read_json(two / "metrics.json")
    assert got["processes"] == 2 and ref["processes"] == 1
    assert got["val_score"] == ref["val_score"]
    assert [h["loss"] for h in got["history"]] == pytest.approx(
        [h["loss"] for h in ref["history"]], abs=1e-6
    )
    assert read_json(two / "config.json")["micro_batches"] == 2


def test_micro_batches_zero_is_one_part_per_process() -> None:
    from fakevoice.train.loop import for_world

    cfg = resolve("detector")
    assert for_world(cfg, World()).micro_batches == 1
    assert for_world(cfg, World(rank=1, size=4)).micro_batches == 4
    assert for_world(cfg, World()).precision == "32"  # auto on a CPU


def test_parts_are_shared_by_rank_and_must_divide() -> None:
    assert list(World(rank=1, size=2).mine(4)) == [2, 3]
    assert list(World().mine(3)) == [0, 1, 2]
    with pytest.raises(FakevoiceError, match="multiple of the process count"):
        World(rank=0, size=2).mine(3)


def test_a_batch_is_cut_into_this_process_s_parts() -> None:
    batch = {"x": torch.arange(8.0)[:, None], "y": torch.arange(8.0)}
    parts = Shards(4, range(2, 4)).split(batch)
    assert parts is not None and [p["y"].tolist() for p in parts] == [[4.0, 5.0], [6.0, 7.0]]
    assert Shards(4, range(4)).split({"x": torch.zeros(7, 1)}) is None  # under 2 a part
    assert Shards().split(batch) == [batch]


@pytest.mark.parametrize(
    "sets, msg",
    [
        (["micro_batches=3"], "multiple of micro_batches"),
        (["micro_batches=32"], "at least 4 clips a part"),
        (["micro_batches=-1"], "micro_batches must be >= 0"),
        (["precision=64"], "precision must be one of"),
    ],
)
def test_bad_parallel_settings_are_refused(sets: list[str], msg: str) -> None:
    with pytest.raises(FakevoiceError, match=msg):
        resolve("detector", sets=["batch_size=64", *sets]).validate()


def test_float16_needs_a_gpu() -> None:
    with pytest.raises(FakevoiceError, match="needs a CUDA device"):
        resolve_precision("16", torch.device("cpu"))
    assert resolve_precision("bf16", torch.device("cpu")) == "bf16"


@pytest.mark.slow
def test_bfloat16_autocast_trains_on_a_cpu(toy_contest: Path, tmp_path: Path) -> None:
    cfg = resolve("detector", epochs=1, sets=[*SETS, "precision=bf16"])
    m = train(cfg, toy_contest, tmp_path / "bf16", cache_dir=tmp_path / "cache" / "features")
    assert all(torch.isfinite(v).all() for v in _weights(tmp_path / "bf16").values())
    assert (
        0.0 < m["val_score"] < 1.0
        and read_json(tmp_path / "bf16" / "config.json")["precision"] == "bf16"
    )


def test_devices_are_checked_in_one_line() -> None:
    from fakevoice.train.distributed import pick_device

    assert pick_device("auto", 0).type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu", 3) == torch.device("cpu")
    with pytest.raises(FakevoiceError, match="not a torch device"):
        pick_device("gpu0", 0)
    if not torch.cuda.is_available():
        with pytest.raises(FakevoiceError, match="CUDA is not available"):
            pick_device("cuda:1", 0)
