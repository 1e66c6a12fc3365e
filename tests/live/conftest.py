"""Live-feed fixtures: an app whose publisher polls fast and whose sockets heartbeat often."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from judging.settings import Settings
from live.server import FeedConfig


@pytest.fixture
def feed_config() -> FeedConfig:
    return FeedConfig(poll_s=0.05, heartbeat_s=5.0, window=1000)


@pytest.fixture
def app(settings: Settings, feed_config: FeedConfig) -> Any:
    from judging.app import create_app

    app = create_app(settings)
    app.state.feed_config = feed_config
    return app


@pytest.fixture
def client(app: Any) -> Iterator[TestClient[Any]]:
    with TestClient(app, base_url="http://podium.test") as c:
        yield c
