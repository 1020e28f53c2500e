"""SQLAlchemy models, one module per aggregate; importing this package registers them all."""

from fisioflow.models.base import Base

__all__ = ["Base"]
