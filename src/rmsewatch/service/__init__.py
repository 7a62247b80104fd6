"""The HTTP service: ``rmsewatch serve`` runs :func:`create_app` under uvicorn."""

from rmsewatch.service.app import create_app

__all__ = ["create_app"]
