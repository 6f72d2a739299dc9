"""Shared test helpers for posting staff forms."""

from shop.submissions import submission_key_new


def keyed(data: dict | None = None, *, key: str | None = None) -> dict:
    """`data` with the one-time submission key a staff form page would carry (a fresh one unless given)."""
    return {**(data or {}), "submission_key": key or submission_key_new()}
