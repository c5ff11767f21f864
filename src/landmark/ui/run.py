"""Starting the web UI: the repositories opened first (one line and an exit code when one
cannot be), then uvicorn on one socket; SIGTERM finishes the requests in flight."""

from __future__ import annotations

import signal
import sys

from ..serve.run import _config, _listen
from .app import build
from .catalog import Catalog


def serve(
    repos: list[str],
    *,
    host: str,
    port: int,
    token: str | None = None,
    interval: float = 5.0,
) -> None:
    catalog = Catalog(repos, refresh_interval=min(1.0, interval))
    for view in catalog.views():  # read every registry now: a broken one fails here
        del view
    app = build(catalog, token=token, interval=interval)
    sock = _listen(host, port)
    where = sock.getsockname()
    url = f"http://{host if ':' not in host else f'[{host}]'}:{where[1]}"
    for source in catalog.sources.values():
        sys.stderr.write(f"landmark ui: {source.id} = {source.location}\n")
    mode = "actions need the token" if token else "read-only (no --token-file)"
    sys.stderr.write(f"landmark ui: {mode}; listening on {url}\n")
    sys.stderr.flush()
    import uvicorn

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.Server(_config(app, 1)).run(sockets=[sock])  # type: ignore[arg-type]


__all__ = ["serve"]
