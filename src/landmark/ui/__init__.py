"""The registry web UI (``landmark ui``): server-rendered pages over one or several repositories.

Every page has a JSON twin (the same URL with ``Accept: application/json``); every view state
lives in the query string; actions are POSTs under ``/models/{name}/...`` that show the write
plan's exact tag before they create it. Rule for this folder: only ``app.py`` and ``run.py``
import the web framework; the rest are plain functions over registry state.
"""
