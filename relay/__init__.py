"""SMTP in, SMTP out, and the delivery semantics between them (no loss, no duplicates)."""
