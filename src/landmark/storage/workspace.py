"""The work tree side of storage: ``add`` (track), ``checkout`` (restore) and local ``status``.

One name to import them by; each concept lives in its own module:

- ``repo_root``: finding the repository, making ``.dvc/``, the repository lock
- ``statcache``: the stat cache and the records of whole tracked folders
- ``walk``: listing a folder's files as dvc would
- ``parallel``: work over many files on a thread pool, in chunks
- ``tracked``: the outputs the ``.dvc`` and ``dvc.lock`` files declare
- ``adding``: ``add``
- ``compare``: tracked outputs against the work tree and the cache
- ``status``: local status
- ``checkout``: ``checkout``

Speed matters throughout (20,000 small files, 1 GiB models): the hot loops use strings and
``os.scandir`` rather than ``pathlib``, and a file's bytes are never written twice.
"""

from __future__ import annotations

from .adding import AddReport, add, add_to_gitignore, track
from .cache import ObjectCache
from .checkout import CheckoutReport, checkout
from .compare import drop_if_linked, manifest_pairs
from .repo_root import ensure_dvc_dir, find_root, repo_lock
from .statcache import FolderRecord, StatCache, folder_digest
from .status import LocalStatus, OutputStatus, status_local
from .tracked import Tracked, tracked_outputs
from .walk import walk

__all__ = [
    "AddReport",
    "CheckoutReport",
    "FolderRecord",
    "LocalStatus",
    "ObjectCache",
    "OutputStatus",
    "StatCache",
    "Tracked",
    "add",
    "add_to_gitignore",
    "checkout",
    "drop_if_linked",
    "ensure_dvc_dir",
    "find_root",
    "folder_digest",
    "manifest_pairs",
    "repo_lock",
    "status_local",
    "track",
    "tracked_outputs",
    "walk",
]
