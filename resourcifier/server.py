"""`dm-resourcifier`: run the resourcifier under gunicorn."""

from dmcommon.server import service_command
from resourcifier.config import SETTINGS

main = service_command("resourcifier", "resourcifier.app:create_app", 8082, SETTINGS)
