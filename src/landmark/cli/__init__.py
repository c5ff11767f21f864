"""The ``landmark`` command line: thin commands over :class:`landmark.registry.Registry`."""

from __future__ import annotations

import gc
import os
import sys

TYPE_CHECKING = False  # typing itself costs start-up time; mypy knows the name
if TYPE_CHECKING:
    import io
    from typing import Any, TextIO

    from .commands import cli


def _error(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    """Console entry point: one line on stderr and a non-zero code for every user error."""
    args = (sys.argv[1:] if argv is None else argv) or ["--help"]
    # A command is short-lived and keeps what it allocates until it exits: cyclic GC passes
    # over the registry's objects would only cost time (seconds on 100,000 tags).
    gc.disable()
    from . import replay

    found = replay.fingerprint(args)
    if found is None:
        return _run(args)
    import io

    real = sys.stdout, sys.stderr
    captured = [
        io.TextIOWrapper(io.BytesIO(), encoding=r.encoding or "utf-8", errors=r.errors)
        for r in real
    ]
    sys.stdout, sys.stderr = captured
    try:
        code = _run(args)
    finally:
        sys.stdout, sys.stderr = real
        err_bytes = _drain(captured[1], real[1])
        out_bytes = _drain(captured[0], real[0])
    # Saved only when nothing changed while the command ran.
    if code == 0 and replay.fingerprint(args) == found:
        replay.save(found, code, out_bytes, err_bytes)
    return code


def _drain(captured: io.TextIOWrapper, real: TextIO) -> bytes:
    """Pass captured output on to the real stream; the bytes as they were encoded."""
    captured.flush()
    data = captured.buffer.getvalue()  # type: ignore[attr-defined]
    target = getattr(real, "buffer", None)
    if target is not None:
        real.flush()
        target.write(data)
    else:
        real.write(data.decode(captured.encoding, captured.errors or "strict"))
    return bytes(data)


def _click() -> Any:
    # Imported when needed: a quick command never pays for it, and an error's except clauses
    # only look it up when an exception is being matched.
    import click

    return click


def _run(args: list[str]) -> int:
    from ..errors import LandmarkError

    traceback = "--traceback" in args or bool(os.environ.get("LANDMARK_TRACEBACK"))
    try:
        if _is_quick_status(args):
            return _quick_status(args[1:])
        from .commands import cli

        rv = cli.main(args=args, prog_name="landmark", standalone_mode=False)
    except LandmarkError as e:
        if traceback:
            raise
        _error(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except _click().exceptions.Exit as e:
        return int(e.exit_code)
    except _click().ClickException as e:
        e.show()
        return int(e.exit_code)
    except _click().Abort:
        _error("aborted")
        return 1
    except Exception as e:
        if traceback:
            raise
        _error(f"unexpected {type(e).__name__}: {e} (a bug: rerun with --traceback and report it)")
        return 70
    return rv if isinstance(rv, int) else 0


def _is_quick_status(args: list[str]) -> bool:
    """``landmark status [TARGET...]``, the command run after every change: answered without
    importing click (35 ms by ``-X importtime``; about 10 ms of a 0.19 s status of 20,000
    files, measured end to end). Any option goes the usual way."""
    return args[0] == "status" and not any(a.startswith("-") for a in args[1:])


def _quick_status(targets: list[str]) -> int:
    """What ``landmark status`` without options prints (see ``cli.storage.status``)."""
    from ..storage import workspace
    from .render import local_status

    local = workspace.status_local(workspace.find_root(None), targets or None, None)
    sys.stdout.write(local_status(local) + "\n")
    return 0


def entry() -> None:
    from . import replay

    code = replay.replay(sys.argv[1:])
    if code is None:
        code = main()
    # Skip interpreter teardown: freeing a large registry object by object takes longer
    # than the command itself, and there is nothing left to clean up.
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 (importing contextlib costs start-up time)
            stream.flush()
        except (BrokenPipeError, ValueError):
            pass  # the reader has gone away (| head) or the stream was closed
    os._exit(code)


def __getattr__(name: str) -> Any:
    if name == "cli":
        from .commands import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["cli", "entry", "main"]
