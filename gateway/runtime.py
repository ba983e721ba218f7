"""What one running gateway holds: settings, the database, the event bus. Services reach it through their Context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.config import Settings
from gateway.passwords import Passwords
from hooks.bus import EventBus
from storage.mongo import Storage


@dataclass
class Runtime:
    settings: Settings
    storage: Storage
    passwords: Passwords
    bus: EventBus = field(default_factory=EventBus)
    jwt_secret: str = ""
    # Optional parts registered by the app factory (rate limiter, webhook worker, ...).
    extras: dict[str, Any] = field(default_factory=dict)
