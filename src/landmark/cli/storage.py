"""Commands for model files: add, checkout, status, push, pull, fetch, get, remote, gc."""

from __future__ import annotations
