"""``landmark predict`` as a process: registry refs, messages, exit codes, bounded memory."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import landmark

from ..churn import COLUMNS, frame, train
from ..conftest import GitRepo
from .conftest import LANDMARK, read, write


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LANDMARK_NO_PROGRESS": "1"}
    return subprocess.run(
        [*LANDMARK, "predict", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120
    )


def test_a_registered_version_scores_a_file(repo: GitRepo, tmp_path: Path, rows: Any) -> None:
    pipe = train()
    repo.tick()
    landmark.log_model(
        pipe, "churn", sample_input=frame(20), commit=True, register="v1.0.0", repo=repo.path
    )
    repo.tick()
    landmark.assign("churn", "prod", version="v1.0.0", repo=repo.path)
    infile = write(rows, tmp_path / "in.csv")
    out = tmp_path / "out.parquet"
    proc = _run(
        "churn#prod", "-r", str(repo.path), "-i", str(infile), "-o", str(out),
        "--method", "predict_proba", "--chunk-rows", "16", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"Wrote 60 rows with predict_proba to {out} (")
    assert proc.stderr == ""
    got = pd.read_parquet(out)
    assert list(got.columns) == ["id", *COLUMNS, "proba_0", "proba_1"]
    np.testing.assert_allclose(got[["proba_0", "proba_1"]], pipe.predict_proba(rows[COLUMNS]))

    report = landmark.predict_file("churn@latest", infile, tmp_path / "o.jsonl", repo=repo.path)
    assert report.rows_written == 60
    assert read(tmp_path / "o.jsonl")["prediction"].tolist() == pipe.predict(rows[COLUMNS]).tolist()


def test_skipped_rows_are_reported_on_stderr(tmp_path: Path, model_dir: Path) -> None:
    df = frame(30)
    df["tenure"] = df["tenure"].astype(object)
    for i in range(25):
        df.loc[i, "tenure"] = f"t{i}"
    infile = write(df, tmp_path / "in.csv")
    proc = _run(
        str(model_dir), "-i", str(infile), "-o", str(tmp_path / "o.csv"), "--on-error", "skip",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Wrote 5 rows with predict to ")
    lines = proc.stderr.splitlines()
    assert lines[0] == "skipped 25 rows of 30:"
    assert lines[1] == "  row 1: column 'tenure': 't0' is not a valid int64"
    assert len(lines) == 1 + 20 + 1
    assert lines[-1] == "  ... and 5 more (the first 20 are shown)"
    assert len(read(tmp_path / "o.csv")) == 5


def test_errors_are_one_line_with_the_exit_code(tmp_path: Path, model_dir: Path) -> None:
    infile = write(frame(5).drop(columns=["calls"]), tmp_path / "in.csv")
    out = str(tmp_path / "out.csv")
    cases = [
        ([str(model_dir), "-i", str(infile), "-o", out], 2, "missing column 'calls'"),
        ([str(model_dir), "-i", str(infile), "-o", str(tmp_path / "x" / "o.csv")], 3, "folder"),
        ([str(model_dir), "-i", str(infile), "-o", str(tmp_path / "o.xlsx")], 2, "'.xlsx'"),
        ([str(tmp_path / "nope"), "-i", str(infile), "-o", out], 3, "nope"),
        ([str(model_dir), "-i", str(infile), "-o", out, "--chunk-rows", "0"], 2, "chunk-rows"),
        ([str(model_dir), "-i", str(infile), "-o", out, "--on-error", "warn"], 2, "fail or skip"),
    ]
    for args, code, text in cases:
        proc = _run(*args, cwd=tmp_path)
        assert proc.returncode == code, (args, proc.stderr)
        assert len(proc.stderr.splitlines()) == 1 and text in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_help_lists_predict_under_deploying() -> None:
    proc = subprocess.run([*LANDMARK, "--help"], capture_output=True, text=True, check=True)
    assert "Deploying:\n  predict" in proc.stdout


# Peak RSS of a command, measured by a small Python process that runs it: a child's peak
# counts what it inherited when forked, so it must be forked from something small, not pytest.
MEASURE = (
    "import resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
    "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def _peak_mib(argv: list[str], cwd: Path) -> int:
    python = str(Path(LANDMARK[0]).parent / "python")
    proc = subprocess.run(
        [python, "-c", MEASURE, *argv], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    code, kib = proc.stdout.split()
    assert code == "0", proc.stderr
    return int(kib) >> 10


def test_memory_is_bounded_by_the_chunk(tmp_path: Path, model_dir: Path) -> None:
    block = frame(1000)
    rng = np.random.default_rng(3)
    for i in range(12):  # columns passed through: the file is wide, the model reads four
        block[f"x{i}"] = rng.normal(size=1000)
    header, body = block.to_csv(index=False).split("\n", 1)
    infile = tmp_path / "in.csv"
    with open(infile, "w") as fh:
        fh.write(header + "\n" + body * 300)  # 300,000 rows, about 80 MiB
    size_mib = infile.stat().st_size >> 20
    out = tmp_path / "out.csv"
    chunked = _peak_mib(
        [*LANDMARK, "predict", str(model_dir), "-i", str(infile), "-o", str(out),
         "--chunk-rows", "5000"],
        tmp_path,
    )  # fmt: skip
    with open(out) as fh:
        assert sum(1 for _ in fh) == 300_001
    python = str(Path(LANDMARK[0]).parent / "python")
    whole = _peak_mib(
        [python, "-c", f"import landmark, pandas; landmark.load_model({str(model_dir)!r}); "
         f"pandas.read_csv({str(infile)!r})"],
        tmp_path,
    )  # fmt: skip
    # Reading the file whole holds at least its numbers; the chunked run holds 5,000 rows.
    assert chunked + size_mib < whole, (chunked, whole, size_mib)
