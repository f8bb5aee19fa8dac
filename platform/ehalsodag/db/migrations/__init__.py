"""Alembic migrations (one file per schema change under versions/)."""
