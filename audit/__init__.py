"""Audit without surveillance: decision records, reports, ROPA, metrics and retention.

compliance.md item 6: per-message records (sender, keyed hash of recipient, trackers by vendor
and kind, action, policy version, rule) and never a body; reports that reveal tracking tools
nobody approved; configurable retention with an automatic purge.
"""
