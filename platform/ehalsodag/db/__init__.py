"""Database: engine set-up, the declarative base and Alembic migrations."""
