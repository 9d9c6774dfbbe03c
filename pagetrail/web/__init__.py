"""The HTTP faces of the archive: JSON API, Memento and the web UI (`pagetrail serve`)."""

from pagetrail.web.app import create_app

__all__ = ["create_app"]
