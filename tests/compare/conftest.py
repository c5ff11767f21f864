"""A real DVC project, built once per test session: a two-stage pipeline reproduced by the real
dvc (so dvc.lock is dvc's own), two commits registered as versions, and three experiments made
by ``dvc exp run``. Tests that change it work on a copy (:func:`project_copy`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..conftest import session_environment

TRAIN = """\
import json, sys

def params(path):
    # params.yaml here is flat 'key: value' lines under one 'train:' block
    out = {}
    for line in open(path):
        if line.startswith("  ") and ":" in line:
            k, v = line.strip().split(":", 1)
            out[k] = float(v)
    return out

p = params("params.yaml")
rows = open("data/prepared.csv").read().split()
acc = round(min(0.99, 0.5 + p["lr"] * len(rows) / 10), 6)
json.dump({"acc": acc, "loss": round(1 - acc, 6), "eval": {"auc": round(acc / 2 + 0.4, 6)}},
          open("metrics.json", "w"))
with open("curve.csv", "w") as f:
    f.write("step,acc\\n" + "".join(f"{i},{acc * i / 3}\\n" for i in range(4)))
import os
os.makedirs("models", exist_ok=True)
open("models/churn.bin", "w").write(json.dumps(p))
"""

PREPARE = """\
rows = open("data/raw.csv").read().split()
open("data/prepared.csv", "w").write("\\n".join(r.upper() for r in rows) + "\\n")
"""


def dvc_yaml(python: str) -> str:
    return f"""\
stages:
  prepare:
    cmd: {python} prepare.py
    deps: [prepare.py, data/raw.csv]
    outs: [data/prepared.csv]
  train:
    cmd: {python} train.py
    deps: [train.py, data/prepared.csv]
    params:
      - train.lr
      - train.depth
      - extra.yaml: [seed]
    outs: [models/churn.bin]
    metrics:
      - metrics.json:
          cache: false
    plots:
      - curve.csv:
          cache: false
          x: step
          y: acc
metrics:
  - summary.json
artifacts:
  churn:
    type: model
    path: models/churn.bin
  raw:
    type: data
    path: data/raw.csv
"""


def find_dvc() -> str:
    local = Path(__file__).resolve().parents[2] / ".venv-dvc" / "bin" / "dvc"
    path = os.environ.get("LANDMARK_DVC") or (str(local) if local.exists() else shutil.which("dvc"))
    if not path or not Path(path).exists():
        pytest.fail("the real dvc is required: run scripts/bootstrap (it installs .venv-dvc)")
    return path


def environment(home: Path) -> dict[str, str]:
    return session_environment(
        home, DVC_NO_ANALYTICS="1", DVC_SITE_CACHE_DIR=str(home / "dvc-site"), COLUMNS="1000"
    )


@dataclass
class Project:
    path: Path
    env: dict[str, str]
    dvc_exe: str
    v1: str  # the commit of churn@v1.0.0
    v2: str  # the commit of churn@v1.1.0 (HEAD)

    def run(self, *args: str, cwd: Path | None = None) -> str:
        proc = subprocess.run(
            list(args), cwd=cwd or self.path, env=self.env, capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc.stdout

    def git(self, *args: str) -> str:
        return self.run("git", *args).strip()

    def dvc(self, *args: str) -> str:
        return self.run(self.dvc_exe, *args)

    def landmark(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        exe = Path(sys.executable).with_name("landmark")
        proc = subprocess.run(
            [str(exe), *args], cwd=self.path, env=self.env, capture_output=True, text=True
        )
        if ok and proc.returncode != 0:
            raise AssertionError(f"landmark {' '.join(args)}: {proc.stderr}")
        if not ok and proc.returncode == 0:
            raise AssertionError(f"landmark {' '.join(args)} should fail: {proc.stdout}")
        return proc

    def write(self, files: dict[str, str]) -> None:
        for name, text in files.items():
            p = self.path / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)


def _build(root: Path) -> Project:
    env = environment(root / "home")
    path = root / "project"
    path.mkdir()
    p = Project(path, env, find_dvc(), "", "")
    p.git("init", "-q")
    p.dvc("init", "-q")
    p.write(
        {
            "prepare.py": PREPARE,
            "train.py": TRAIN,
            "dvc.yaml": dvc_yaml(sys.executable),
            "params.yaml": "train:\n  lr: 0.1\n  depth: 3\n  unused: 7\n",
            "extra.yaml": "seed: 42\nignored: 1\n",
            "summary.json": '{"rows": 3}\n',
            "data/raw.csv": "a\nb\nc\n",
            "sub/dvc.yaml": "metrics:\n  - m.json\nparams:\n  - p.json\n",
            "sub/m.json": '{"sub_score": 1.5}\n',
            "sub/p.json": '{"window": {"size": 4}}\n',
        }
    )
    p.dvc("repro", "-q")
    p.git("add", "-A")
    p.git("commit", "-q", "-m", "first model")
    p.landmark("register", "churn", "--version", "v1.0.0")
    p.landmark("register", "raw", "--version", "v1.0.0")
    p.v1 = p.git("rev-parse", "HEAD")
    p.write(
        {
            "params.yaml": "train:\n  lr: 0.2\n  depth: 3\n  unused: 7\n",
            "data/raw.csv": "a\nb\nc\nd\n",
            "summary.json": '{"rows": 4}\n',
        }
    )
    p.dvc("repro", "-q")
    p.git("add", "-A")
    p.git("commit", "-q", "-m", "more data, higher lr")
    p.landmark("register", "churn", "--version", "v1.1.0")
    p.landmark("register", "raw", "--version", "v1.1.0")
    p.landmark("assign", "churn", "--version", "v1.0.0", "--stage", "prod")
    p.v2 = p.git("rev-parse", "HEAD")
    for name, lr in (("fast", "0.3"), ("slow", "0.05"), ("deep", "0.25")):
        p.dvc("exp", "run", "-q", "-n", name, "-S", f"train.lr={lr}")
    # Leave the work tree as HEAD has it (dvc exp run leaves the last experiment's files).
    p.git("checkout", "-q", "--", ".")
    p.dvc("checkout", "-q")
    return p


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    yield _build(tmp_path_factory.mktemp("dvc-project"))


@pytest.fixture
def project_copy(project: Project, tmp_path: Path) -> Project:
    """A copy of the project a test may change (git objects and refs included)."""
    dest = tmp_path / "copy"
    shutil.copytree(project.path, dest, symlinks=True)
    return Project(dest, project.env, project.dvc_exe, project.v1, project.v2)
