"""Piccolo configuration: the engine and the app whose migrations build the schema."""

from __future__ import annotations

from piccolo.conf.apps import AppRegistry

from backend.db.engine import get_engine

DB = get_engine()

APP_REGISTRY = AppRegistry(apps=["backend.db.piccolo_app"])
