"""Bluelamp: an open-source policing operations platform."""

__version__ = "0.1.0"
