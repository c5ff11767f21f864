"""Actions on registry events: CI workflow files, a post-receive hook, a polling watcher and
signed webhooks, all acting on the same :class:`ActionEvent` values.

    events.py    ActionEvent (what an event hands to a command or a webhook) and filters
    runner.py    running a command with the event in its environment, output streamed
    webhook.py   signed JSON deliveries with bounded retries
    journal.py   the JSON-lines log every action and delivery is written to
    hook.py      ``landmark hook install|run post-receive``
    watch.py     ``landmark watch``: fetch, act on new events once, remember them
    ci.py        ``landmark ci init github|gitlab``: workflow files
"""

from __future__ import annotations

from .events import ActionEvent, Filter, parse_filter

__all__ = ["ActionEvent", "Filter", "parse_filter"]
