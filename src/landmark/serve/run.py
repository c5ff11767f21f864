"""Starting the server: options from the command line, models loaded first, then uvicorn.

Every model is loaded before the port is opened, so a model that cannot be served (objects
missing, an untrusted pickle without ``--trust``, a bad signature) ends the process with one
line and a non-zero code, and nothing ever answers for it. With ``--workers N`` each process
loads the same versions (resolved once, here) and uvicorn shares one listening socket.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from ..errors import ConfigError, InvalidInput
from .app import ServeOptions, Server, load_all
from .batching import BatchConfig
from .runtime import Source, Target, resolve

ENV = "LANDMARK_SERVE_OPTIONS"


def read_token(path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the token file {path}: {e}") from None
    lines = text.strip().splitlines()
    token = lines[0].strip() if lines else ""
    if len(token) < 8:
        raise ConfigError(f"the token file {path} must hold a token of 8 or more characters")
    return token


def _batch(spec: str, names: list[str]) -> dict[str, BatchConfig]:
    name, _, rest = spec.partition(":")
    size, _, wait = rest.partition(":")
    try:
        config = BatchConfig(
            int(size) if size else BatchConfig.max_batch,
            float(wait) / 1000 if wait else BatchConfig.max_wait,
        )
    except ValueError:
        raise InvalidInput(f"--batch {spec!r}: write NAME[:ROWS[:MS]], e.g. churn:64:2") from None
    if config.max_batch < 1 or config.max_wait < 0:
        raise InvalidInput(f"--batch {spec!r}: ROWS must be 1 or more and MS 0 or more")
    if name == "*":
        return dict.fromkeys(names, config)
    if name not in names:
        raise InvalidInput(f"--batch {spec!r}: no served model is named {name!r}")
    return {name: config}


def options(
    *,
    refs: list[str],
    repo: str = ".",
    shadows: list[str] | None = None,
    batches: list[str] | None = None,
    **rest: object,
) -> ServeOptions:
    sources = [Source.parse(ref, repo) for ref in refs]
    names = [s.name for s in sources]
    paired: dict[str, Source] = {}
    for ref in shadows or []:
        shadow = Source.parse(ref, repo)
        owner = shadow.name if shadow.name in names else (names[0] if len(names) == 1 else None)
        if owner is None:
            raise InvalidInput(
                f"--shadow {ref}: no served model is named {shadow.name!r}; name one of "
                + ", ".join(names)
            )
        if owner in paired:
            raise InvalidInput(f"model {owner!r} has two shadows; give one --shadow per model")
        paired[owner] = shadow
    batch: dict[str, BatchConfig] = {}
    for spec in batches or []:
        batch |= _batch(spec, names)
    return ServeOptions(sources=sources, shadows=paired, batch=batch, **rest)  # type: ignore[arg-type]


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _config(app: object, workers: int) -> object:
    import uvicorn

    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        factory=workers > 1,
        workers=workers,
        access_log=False,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=30,
        server_header=False,
        date_header=False,
    )


def serve(options: ServeOptions, *, host: str, port: int, workers: int = 1) -> None:
    slots, order = load_all(options)
    # The versions every worker loads: what was loaded here.
    for name, slot in slots.items():
        options.targets[name] = Target(slot.current.version, slot.current.commit)
        if slot.shadow is not None:
            shadow = slot.shadow.current
            options.targets[f"shadow:{name}"] = Target(shadow.version, shadow.commit)
    sock = _listen(host, port)
    where = sock.getsockname()
    url = f"http://{host if ':' not in host else f'[{host}]'}:{where[1]}"
    for name in order:
        served = slots[name].current
        stage = f" ({served.source.stage})" if served.source.stage else ""
        sys.stderr.write(
            f"landmark serve: {name} {served.label}{stage} at {url}"
            f"{'' if len(order) == 1 else f'/models/{name}'} "
            f"[{', '.join(served.model.endpoints)}]\n"
        )
    sys.stderr.write(f"landmark serve: listening on {url}\n")
    sys.stderr.flush()
    import signal

    import uvicorn

    # uvicorn drains on SIGTERM, then raises the signal again to the handler it found:
    # finishing that way is a clean exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if workers == 1:
        server = Server(options, slots)
        config = _config(server.app(), 1)
        uvicorn.Server(config).run(sockets=[sock])  # type: ignore[arg-type]
        return
    del slots  # each worker loads its own copy
    os.environ[ENV] = options.to_json()
    from uvicorn.supervisors import Multiprocess

    config = _config("landmark.serve.run:worker_app", workers)
    Multiprocess(config, sockets=[sock]).run()  # type: ignore[arg-type]


def worker_app() -> object:
    """One worker process's app (uvicorn calls this in each process it starts)."""
    import gc

    gc.enable()
    text = os.environ.get(ENV)
    if not text:
        raise ConfigError(f"{ENV} is not set; start workers with landmark serve --workers N")
    return Server(ServeOptions.from_json(text)).app()


__all__ = ["options", "read_token", "resolve", "serve", "worker_app"]
