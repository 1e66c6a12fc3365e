"""Podium's web application: settings, app factory, models, routes, CLI."""

__version__ = "0.1.0"
