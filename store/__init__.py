"""SQLAlchemy models, migrations and repositories: consent ledger, suppression, audit."""
