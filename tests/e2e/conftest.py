"""Fixtures of the end-to-end suite (helpers in tests/pairing_env.py)."""

import pytest
from keyserver import KeyServer
from pairing_env import GUESTS, Keys


@pytest.fixture(scope='module')
def keys(tmp_path_factory):
    return Keys(str(tmp_path_factory.mktemp('guest-keys')))


@pytest.fixture(scope='module')
def strangers(tmp_path_factory):
    """Keys no one listed, more than sshd lets one connection offer (MaxAuthTries 6)."""
    return Keys(str(tmp_path_factory.mktemp('stranger-keys')), names=['stranger%d' % number for number in range(8)])


@pytest.fixture(scope='module')
def key_server(keys):
    with KeyServer() as server:
        for name in GUESTS[:3]:
            server.publish(name, [keys.public(name)])
        yield server
