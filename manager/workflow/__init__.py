"""The workflow: every change is an operation, started in the request and run in the
background, one small module per action (create, update, rollback, sync, delete)."""

from manager.workflow.create import Create
from manager.workflow.delete import Delete
from manager.workflow.drift import check_drift
from manager.workflow.expand import Expand
from manager.workflow.preview import ApplyPreview
from manager.workflow.rollback import Rollback
from manager.workflow.runner import InlineRunner, Runner
from manager.workflow.services import Services
from manager.workflow.sync import Sync
from manager.workflow.update import Update

__all__ = [
    "ApplyPreview",
    "check_drift",
    "Create",
    "Delete",
    "Expand",
    "InlineRunner",
    "Rollback",
    "Runner",
    "Services",
    "Sync",
    "Update",
]
