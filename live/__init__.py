"""Podium's real-time feed: channels backend, websocket protocol, projections. No SQLAlchemy models here."""
