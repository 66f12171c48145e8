"""Fixtures of the end-to-end suite (helpers in tests/pairing_env.py)."""

import pytest
from keyserver import KeyServer
from pairing_env import GUESTS, Keys


@pytest.fixture(scope='module')
def keys(tmp_path_factory):
    return Keys(str(tmp_path_factory.mktemp('guest-keys')))


@pytest.fixture(scope='module')
def key_server(keys):
    with KeyServer() as server:
        for name in GUESTS[:3]:
            server.publish(name, [keys.public(name)])
        yield server
