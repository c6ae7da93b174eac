"""ASGI factory for multi-worker serving: each worker builds its settings at its start."""

from __future__ import annotations

from fastapi import FastAPI

from bluelamp.settings import Settings
from bluelamp.web.app import create_app


def build() -> FastAPI:
    return create_app(Settings(), freeze_at_start=True)
