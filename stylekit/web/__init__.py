"""The local web UI (``stylekit serve``): a thin page and job queue over the Python API."""
from .server import BackgroundServer, ServerConfig, create_app, serve

__all__ = ["BackgroundServer", "ServerConfig", "create_app", "serve"]
