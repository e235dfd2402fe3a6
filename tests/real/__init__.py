"""Launchers and helpers for the tests against real runtimes (xllamacpp, the MLX bridge)."""
