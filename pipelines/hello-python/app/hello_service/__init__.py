"""hello-service: a small HTTP service on Python's standard library (http.server)."""

from importlib.metadata import version

NAME = "hello-service"
__version__ = version(NAME)
