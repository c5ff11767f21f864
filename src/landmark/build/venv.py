"""``landmark build venv``: a folder that serves one model with nothing else installed.

    venv/          python -m venv, with the model's pinned requirements and landmark[serve]
    model/NAME/    the model directory (md5s checked)
    bin/serve      runs landmark serve on model/NAME with venv/bin/python; arguments pass on

pip installs from the index and find-links it is configured with (its cache too), so a
machine with a local wheelhouse builds offline. The finished folder needs no network to
serve, and ``bin/serve`` finds everything relative to itself, so the folder can be moved.
"""

from __future__ import annotations

import importlib.util
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInput, LandmarkError, one_line
from .files import check_output, copy_model, relink, staged_dir
from .source import Model
from .wheel import landmark

_RUN = 'import sys; from landmark.cli import entry; sys.argv[0] = "landmark"; entry()'


@dataclass(frozen=True)
class Built:
    path: Path
    python: str
    requirements: tuple[str, ...]


def serve_script(model: Model, trust: bool) -> str:
    args = ["serve", f"model/{model.name}", *(["--trust"] if trust else [])]
    quoted = " ".join(f'"$here/{a}"' if a.startswith("model/") else shlex.quote(a) for a in args)
    return (
        "#!/bin/sh\n"
        f"# Written by landmark build venv: serves {model.label} with the venv beside it.\n"
        "# Arguments pass on to landmark serve: --port 9000, --host 0.0.0.0, --workers 2, ...\n"
        "# Python runs isolated (-I): PYTHONPATH and user site-packages cannot change what runs.\n"
        'here=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd -P) || exit 1\n'
        f'exec "$here/venv/bin/python" -I -c {shlex.quote(_RUN)} {quoted} "$@"\n'
    )


def _pip(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        lines = [
            ln
            for ln in (proc.stderr + "\n" + proc.stdout).splitlines()
            if ln.strip() and "is ignored: it is neither a file nor a directory" not in ln
        ]
        errors = [ln for ln in lines if ln.startswith("ERROR")]
        shown = (errors or lines or [f"exit {proc.returncode}"])[0]
        raise LandmarkError(f"{what} failed: {one_line(shown)}")


def build_venv(
    model: Model,
    out: Path,
    *,
    force: bool = False,
    trust: bool = False,
    python: str | None = None,
    pip_args: Sequence[str] = (),
    compile: bool = True,
    report: Callable[[str], None] | None = None,
) -> Built:
    """Build the serving folder of ``model`` at ``out``."""
    model.check_trusted(trust, "a folder")
    target = check_output(out, model.directory, force=force, is_dir=True)
    interpreter = python or sys.executable
    version = _version(interpreter)
    if model.python and model.python != version and report:
        report(f"note: the model was saved with Python {model.python}; the venv has {version}")
    pins = model.pins()
    with staged_dir(target) as tmp:
        copy_model(model.directory, model.meta, tmp / "model" / model.name)
        lm = landmark(tmp / ".wheels")
        own = f"{lm.wheel}[serve]" if lm.wheel is not None else lm.requirement()
        env = tmp / "venv"
        # pip from this environment installs into the new venv (pip --python), which
        # then needs no pip of its own: seconds faster, and smaller.
        outer_pip = python is None and importlib.util.find_spec("pip") is not None
        _pip(
            [interpreter, "-m", "venv", *(["--without-pip"] if outer_pip else []), str(env)],
            "python -m venv",
        )
        venv_python = str(env / "bin" / "python")
        pip = [sys.executable, "-m", "pip", "--python", venv_python] if outer_pip else [
            venv_python, "-m", "pip"
        ]  # fmt: skip
        if report:
            report(f"installing {len(pins) + 1} requirements into {target}/venv with pip")
        _pip(
            [
                *pip, "install", "-q", "--no-input", "--disable-pip-version-check",
                *([] if compile else ["--no-compile"]), *pip_args, *pins, own,
            ],
            "pip install",
        )  # fmt: skip
        if lm.wheel is not None:
            lm.wheel.unlink()
            lm.wheel.parent.rmdir()
        # Scripts pip wrote name the temporary folder; they are to name the final one.
        relink(env / "bin", str(tmp), str(target), lambda p: True)
        cfg = env / "pyvenv.cfg"
        cfg.write_text(cfg.read_text().replace(str(tmp), str(target)))
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        script = bin_dir / "serve"
        script.write_text(serve_script(model, trust))
        script.chmod(0o755)
    return Built(target, version, (*pins, own if lm.wheel is None else lm.wheel.name))


def _version(interpreter: str) -> str:
    try:
        proc = subprocess.run(
            [interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise InvalidInput(f"--python {interpreter}: cannot run it ({e})") from None
    if proc.returncode != 0:
        raise InvalidInput(f"--python {interpreter}: not a working Python")
    return proc.stdout.strip()


__all__ = ["Built", "build_venv", "serve_script"]
