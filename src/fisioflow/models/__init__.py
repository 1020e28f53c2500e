"""SQLAlchemy models, one module per aggregate; importing this package registers them all."""

from fisioflow.models.base import Base
from fisioflow.models.clinic import Clinic
from fisioflow.models.user import ROLES, OneTimeToken, RefreshToken, User

__all__ = ["ROLES", "Base", "Clinic", "OneTimeToken", "RefreshToken", "User"]
