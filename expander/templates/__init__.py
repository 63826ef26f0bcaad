"""The two template languages: Jinja (`jinja`) and restricted Python (`python`)."""
