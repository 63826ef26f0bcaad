"""The user actions: one module each, over the shared `Services`."""

from manager.actions.base import Services
from manager.actions.delete import Delete
from manager.actions.deploy import Deploy
from manager.actions.expand import Expand
from manager.actions.rollback import Rollback
from manager.actions.update import Update

__all__ = ["Delete", "Deploy", "Expand", "Rollback", "Services", "Update"]
