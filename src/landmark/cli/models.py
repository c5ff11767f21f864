"""Commands for packaged models: log-model, import-mlflow, describe-model."""

from __future__ import annotations
