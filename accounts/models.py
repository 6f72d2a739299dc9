"""Accounts: the user model (AUTH_USER_MODEL)."""
