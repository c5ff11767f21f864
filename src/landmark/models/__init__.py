"""Packaged models: a model directory with its framework, signatures and requirements."""
