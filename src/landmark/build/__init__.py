"""Packaging a model to run elsewhere: a Dockerfile and context, a self-contained venv
folder, or an OCI image of the model files, all without a container daemon.

    source.py   the model to package (a folder or a registry ref) and its labels
    files.py    reading the untrusted model folder; outputs written whole or not at all
    wheel.py    landmark itself for the build (a wheel of this source tree, or a pin)
    docker.py   landmark build docker
    venv.py     landmark build venv
    oci.py      landmark build oci (the image layout and archive)
    push.py     uploading to a registry over the OCI distribution API
"""

from __future__ import annotations

from .docker import build_docker
from .oci import build_oci
from .source import Model, resolve
from .venv import build_venv

__all__ = ["Model", "build_docker", "build_oci", "build_venv", "resolve"]
