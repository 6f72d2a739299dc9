"""Reads of the accounts app: saved addresses (`addresses`) and the data export (`export`)."""
