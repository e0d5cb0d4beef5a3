"""The JSON API under /api/v1, authenticated by bearer tokens."""
from app.web.api.routes import bp

__all__ = ["bp"]
