"""Builds the UI tests' registry (run as a script in the tests' isolated environment):
two logged scikit-learn versions of ``churn`` with metrics, params and a metric series, a
``fraud`` model whose description is markup, an ``evil`` model whose path leaves the repo,
stages assigned, everything pushed to a bare remote."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import landmark
from landmark.models.log import log_model


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def tick(n: int) -> None:
    stamp = f"{1_700_000_000 + n * 60} +0000"
    os.environ["GIT_COMMITTER_DATE"] = stamp
    os.environ["GIT_AUTHOR_DATE"] = stamp
    import landmark.git

    landmark.git._ENV = None


def main(repo: Path, remote: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    repo.mkdir()
    tick(1)
    git(repo, "init", "-q")
    (repo / "README.md").write_text("models\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "initial")
    x = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.9, 0.1]]
    y = [0, 1, 0, 1]
    for i, (c, acc) in enumerate([(1.0, [0.61, 0.70, 0.74]), (0.5, [0.65, 0.75, 0.81])]):
        tick(10 + i * 10)
        model = LogisticRegression(C=c).fit(x, y)
        log_model(
            model,
            "churn",
            metrics={"accuracy": acc, "auc": 0.8 + i / 20},
            params={"C": c, "penalty": "l2"},
            sample_input=x,
            description="Predicts which customers leave",
            labels=["tabular", "customers"],
            commit=True,
            register=True,
            repo=repo,
        )
    tick(40)
    landmark.annotate(
        "fraud",
        repo=repo,
        type="model",
        path="models/fraud.bin",
        description="<script>alert('pwned')</script> & <b>bold</b>",
        labels=["risk"],
    )
    (repo / "models").mkdir(exist_ok=True)
    fraud = b"\x00fraud model bytes"
    (repo / "models" / "fraud.bin").write_bytes(fraud)
    # dvc.lock's output is found before git's copy: its object is in the cache, as dvc leaves it
    md5 = hashlib.md5(fraud).hexdigest()
    cached = repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(fraud)
    (repo / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  train-fraud:\n"
        "    cmd: python train.py --note '<script>alert(2)</script>'\n"
        "    deps:\n    - path: data/raw.csv\n      md5: 0123456789abcdef0123456789abcdef\n"
        "      size: 10\n    outs:\n    - path: models/fraud.bin\n"
        f"      md5: {md5}\n      size: {len(fraud)}\n"
    )
    git(repo, "add", "-f", "dvc.yaml", "dvc.lock", "models/fraud.bin")
    git(repo, "commit", "-q", "-m", "fraud model")
    tick(41)
    landmark.register("fraud", repo=repo, version="v1.0.0")
    tick(42)
    landmark.annotate("evil", repo=repo, type="model", path="../../etc")
    git(repo, "add", "dvc.yaml")
    git(repo, "commit", "-q", "-m", "evil model")
    tick(43)
    landmark.register("evil", repo=repo, version="v0.1.0")
    tick(50)
    landmark.assign("churn", "prod", repo=repo, version="v0.0.1")
    tick(51)
    landmark.assign("fraud", "prod", repo=repo, version="v1.0.0")
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "HEAD:refs/heads/main", "--tags")
    tick(60)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
