"""Writes of the accounts: sign-up, email verification (and the guest orders it attaches)."""
