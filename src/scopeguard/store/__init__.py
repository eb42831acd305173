"""Storage: SQLAlchemy models, Alembic migrations and the repository the services use."""

from scopeguard.store.db import Database

__all__ = ["Database"]
