"""Each back end's fsspec filesystem, made from a remote's dvc options (s3, gs, azure, ssh, http).

The options are dvc's names (``endpointurl``, ``credentialpath``, ``keyfile``...), mapped to
each fsspec back end's arguments (s3fs, gcsfs, adlfs, sshfs, fsspec's http). The back ends are
optional extras, imported only when a remote of theirs is opened: :func:`require` names the
extra to install when one is missing.
"""

from __future__ import annotations

import os
from typing import Any

from ...errors import InvalidInput, MissingDependency
from ..remotes import Remote
from .errors import translate

# scheme: (python module, extra that installs it)
BACKENDS: dict[str, tuple[str, str]] = {
    "s3": ("s3fs", "s3"),
    "gs": ("gcsfs", "gcs"),
    "azure": ("adlfs", "azure"),
    "ssh": ("sshfs", "ssh"),
    "http": ("aiohttp", "http"),
    "https": ("aiohttp", "http"),
}


def require(scheme: str) -> None:
    module, extra = BACKENDS[scheme]
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        raise MissingDependency(
            f"{scheme}:// remotes need the {module} package: pip install 'landmark[{extra}]'"
        ) from None


def split_url(url: str) -> tuple[str, str]:
    """(scheme, the rest of the url without ``scheme://``)."""
    scheme, _, rest = url.partition("://")
    return scheme.lower(), rest


def memory(remote: Remote) -> tuple[Any, str]:
    """fsspec's in-memory filesystem (one per process) and the remote's folder in it."""
    import fsspec

    _, rest = split_url(remote.url)
    return fsspec.filesystem("memory"), "/" + rest.strip("/")


def s3(remote: Remote) -> Any:
    import s3fs

    client: dict[str, Any] = {}
    config: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    kw: dict[str, Any] = {"skip_instance_cache": True}
    if remote.get("endpointurl"):
        client["endpoint_url"] = remote.get("endpointurl")
    if remote.get("region"):
        client["region_name"] = remote.get("region")
    ssl_verify = remote.get("ssl_verify")
    if ssl_verify is not None:
        lowered = ssl_verify.lower()
        client["verify"] = (
            lowered in ("true", "yes", "1", "on")
            if lowered in ("true", "false", "yes", "no", "1", "0", "on", "off")
            else ssl_verify
        )
    for opt, key in (("read_timeout", "read_timeout"), ("connect_timeout", "connect_timeout")):
        if remote.get(opt):
            config[key] = int(remote.get(opt) or 0)
    if remote.get("access_key_id"):
        kw["key"] = remote.get("access_key_id")
    if remote.get("secret_access_key"):
        kw["secret"] = remote.get("secret_access_key")
    if remote.get("session_token"):
        kw["token"] = remote.get("session_token")
    if remote.get("use_ssl") is not None:
        kw["use_ssl"] = remote.flag("use_ssl", True)
    if remote.flag("allow_anonymous_login") and "key" not in kw:
        kw["anon"] = True
    for opt, key in (
        ("sse", "ServerSideEncryption"),
        ("sse_kms_key_id", "SSEKMSKeyId"),
        ("sse_customer_algorithm", "SSECustomerAlgorithm"),
        ("sse_customer_key", "SSECustomerKey"),
        ("acl", "ACL"),
        ("grant_read", "GrantRead"),
        ("grant_read_acp", "GrantReadACP"),
        ("grant_write_acp", "GrantWriteACP"),
        ("grant_full_control", "GrantFullControl"),
    ):
        if remote.get(opt):
            extra[key] = remote.get(opt)
    profile = remote.get("profile")
    credentialpath, configpath = remote.get("credentialpath"), remote.get("configpath")
    if credentialpath or configpath:
        from aiobotocore.session import AioSession

        session = AioSession(profile=profile)
        if credentialpath:
            session.set_config_variable("credentials_file", credentialpath)
        if configpath:
            session.set_config_variable("config_file", configpath)
        kw["session"] = session
    elif profile:
        kw["profile"] = profile
    if remote.flag("version_aware"):
        kw["version_aware"] = True
    if remote.flag("cache_regions"):
        kw["cache_regions"] = True
    # Three layers retrying the same request multiply (a wrong endpoint would take a minute
    # to report): botocore makes one attempt, s3fs three, FsspecStore._call three.
    config["retries"] = {"total_max_attempts": 1}
    fs = s3fs.S3FileSystem(
        client_kwargs=client or None,
        config_kwargs=config,
        s3_additional_kwargs=extra or None,
        **kw,
    )
    fs.retries = 3
    return fs


def gcs(remote: Remote) -> Any:
    import gcsfs

    fs_class = gcsfs.GCSFileSystem
    if remote.get("endpointurl"):
        # gcsfs's default class asks Google's gRPC control plane what kind of bucket this is
        # (and waits a minute for every answer that doesn't come): not at a custom endpoint.
        import gcsfs.core

        fs_class = gcsfs.core.GCSFileSystem
    kw: dict[str, Any] = {"skip_instance_cache": True}
    if remote.get("projectname"):
        kw["project"] = remote.get("projectname")
    if remote.get("credentialpath"):
        kw["token"] = remote.get("credentialpath")
    elif remote.flag("allow_anonymous_login"):
        kw["token"] = "anon"
    if remote.get("endpointurl"):
        kw["endpoint_url"] = remote.get("endpointurl")
    return fs_class(**kw)


def azure(remote: Remote) -> Any:
    import adlfs

    kw: dict[str, Any] = {"skip_instance_cache": True}
    for opt in (
        "connection_string",
        "sas_token",
        "account_name",
        "account_key",
        "tenant_id",
        "client_id",
        "client_secret",
    ):
        if remote.get(opt):
            kw[opt] = remote.get(opt)
    if remote.flag("allow_anonymous_login"):
        kw["anon"] = True
    if "account_name" not in kw and os.environ.get("AZURE_STORAGE_ACCOUNT"):
        kw["account_name"] = os.environ["AZURE_STORAGE_ACCOUNT"]
    return adlfs.AzureBlobFileSystem(**kw)


def ssh(remote: Remote) -> tuple[Any, str]:
    from urllib.parse import urlsplit

    import sshfs

    parts = urlsplit(remote.url)
    if not parts.hostname:
        raise InvalidInput(f"ssh remote {remote.name!r} has no host: use ssh://[user@]host/path")
    kw: dict[str, Any] = {"skip_instance_cache": True}
    port = remote.get("port") or (str(parts.port) if parts.port else None)
    if port:
        kw["port"] = int(port)
    user = remote.get("user") or parts.username
    if user:
        kw["username"] = user
    if remote.get("password"):
        kw["password"] = remote.get("password")
    if remote.get("keyfile"):
        kw["client_keys"] = [remote.get("keyfile")]
    if remote.get("passphrase"):
        kw["passphrase"] = remote.get("passphrase")
    if remote.get("timeout"):
        kw["connect_timeout"] = int(remote.get("timeout") or 0)
    if remote.get("max_sessions"):
        kw["max_sessions"] = int(remote.get("max_sessions") or 0)
    try:
        fs = sshfs.SSHFileSystem(parts.hostname, **kw)
    except Exception as e:  # asyncssh's errors have no common base worth naming
        raise translate(e, remote.url, "connecting") from e
    return fs, parts.path or "/"


def http(remote: Remote) -> Any:
    from fsspec.implementations.http import HTTPFileSystem

    client: dict[str, Any] = {}
    headers: dict[str, str] = {}
    auth = (remote.get("auth") or "").lower()
    if auth == "basic":
        import aiohttp

        client["auth"] = aiohttp.BasicAuth(remote.get("user") or "", remote.get("password") or "")
    elif auth == "custom" and remote.get("custom_auth_header"):
        headers[remote.get("custom_auth_header") or ""] = remote.get("password") or ""
    elif auth == "digest":
        raise InvalidInput("digest authentication is not supported for HTTP remotes; use basic")
    if headers:
        client["headers"] = headers
    return HTTPFileSystem(client_kwargs=client, skip_instance_cache=True)


__all__ = ["BACKENDS", "azure", "gcs", "http", "memory", "require", "s3", "split_url", "ssh"]
