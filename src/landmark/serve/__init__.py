"""``landmark serve``: models served over REST and the Open Inference Protocol v2.

Modules: ``runtime`` (refs, versions, loaded models, slots), ``codec`` (REST JSON), ``oip``
(OIP v2 JSON and binary tensors), ``batching``, ``metrics``, ``app`` (the server's state:
follow, shadow, logs), ``routes`` (Starlette), ``openapi``, ``run`` (start-up, workers) and
``client`` (``landmark.Client``). Needs the ``serve`` extra: ``pip install landmark[serve]``.
"""
