"""pagetrail: the faces (CLI, demo, HTTP API) and the wiring of crawler, parsers and storage."""

__version__ = "0.1.0"
