"""Fixtures shared by the suites that need real machines (tests/testhosts/ is the harness)."""

import signal

import pytest
from testhosts import Harness


class SessionHosts:
    """Test hosts booted for this pytest session, all removed when it ends."""

    def __init__(self):
        self.harness = Harness()
        self.names = []

    def up(self, *names):
        self.names.extend(name for name in names if name not in self.names)
        return self.harness.up(names)

    def down(self):
        self.harness.down(self.names)


@pytest.fixture(scope='session')
def testhost_session():
    session = SessionHosts()
    # A CI time-out sends SIGTERM: turn it into the interrupt pytest tears fixtures down on.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield session
    finally:
        session.down()
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope='session')
def testhosts(request, testhost_session):
    """Running hosts by name.  Which hosts: parametrise indirectly, e.g.
    ``@pytest.mark.parametrize('testhosts', [('pair', 'relay')], indirect=True)``; default one ``host``."""
    names = tuple(getattr(request, 'param', ('host',)))
    return dict(zip(names, testhost_session.up(*names)))
