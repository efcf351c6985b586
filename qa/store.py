"""Moved: the index is the `qa.index` package (one `Index`, its parts, segments and
generations). Only the names below remain here, for callers not yet moved (the committed
`qa index --check` in qa/cli.py); nothing else should import this module. Remove it once
nothing does."""

from __future__ import annotations

from .index import read_manifest, verify

__all__ = ["read_manifest", "verify"]
