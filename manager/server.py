"""`dm-manager`: run the manager under gunicorn."""

from dmcommon.server import service_command
from manager.config import SETTINGS

main = service_command("manager", "manager.app:create_app", 8080, SETTINGS)
