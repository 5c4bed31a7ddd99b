"""The store's base error (a module of its own so that every store module can raise it without
importing the connection module)."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of store errors that reach the user as a one-line message."""
