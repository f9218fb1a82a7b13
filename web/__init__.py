"""Recipient pages, admin API, health and metrics, served on the relay's own loop."""
