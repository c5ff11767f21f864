"""The ``landmark`` command line: thin commands over :class:`landmark.registry.Registry`."""

from __future__ import annotations

import contextlib
import gc
import os
import sys

from .main import cli


def _error(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    """Console entry point: one line on stderr and a non-zero code for every user error."""
    import click

    from ..errors import LandmarkError

    args = (sys.argv[1:] if argv is None else argv) or ["--help"]
    # A command is short-lived and keeps what it allocates until it exits: cyclic GC passes
    # over the registry's objects would only cost time (seconds on 100,000 tags).
    gc.disable()
    traceback = "--traceback" in args or bool(os.environ.get("LANDMARK_TRACEBACK"))
    try:
        rv = cli.main(args=args, prog_name="landmark", standalone_mode=False)
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.ClickException as e:
        e.show()
        return int(e.exit_code)
    except click.Abort:
        _error("aborted")
        return 1
    except LandmarkError as e:
        if traceback:
            raise
        _error(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except Exception as e:
        if traceback:
            raise
        _error(f"unexpected {type(e).__name__}: {e} (a bug: rerun with --traceback and report it)")
        return 70
    return rv if isinstance(rv, int) else 0


def entry() -> None:
    code = main()
    # Skip interpreter teardown: freeing a large registry object by object takes longer
    # than the command itself, and there is nothing left to clean up.
    for stream in (sys.stdout, sys.stderr):
        # The reader may have gone away (| head) or the stream been closed.
        with contextlib.suppress(BrokenPipeError, ValueError):
            stream.flush()
    os._exit(code)


__all__ = ["cli", "entry", "main"]
