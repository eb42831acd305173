"""Storage: SQLAlchemy models, Alembic migrations and the repository the services use."""

from scopeguard.adapters.store.db import Database

__all__ = ["Database"]
