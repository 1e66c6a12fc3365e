"""Database layer: declarative base, models, engine factory."""

from judging.db.base import Base

__all__ = ["Base"]
