"""`dm-expander`: run the expander under gunicorn."""

from dmcommon.server import service_command
from expander.config import SETTINGS

main = service_command("expander", "expander.app:create_app", 8081, SETTINGS)
