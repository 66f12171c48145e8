"""Fixtures shared by the suites: real test hosts (tests/testhosts/ is the harness), real keys."""

import os
import signal
import subprocess

import pytest
from ansible_run import BIN, controller_version
from testhosts import Harness
from testhosts.hosts import default_state_dir
from testhosts.network import Network
from testhosts.rootfs import release


def pytest_configure(config):
    """Under pytest-xdist (``-n 2``, as ``make test`` runs) each worker is a lane with test hosts
    of its own: its own state directory and network names (``ptb`` -> ``ptb0``, ``ptb1``), so
    two modules may both boot a host named ``pair`` at once."""
    worker = os.environ.get('PYTEST_XDIST_WORKER')  # gw0, gw1, ...
    if worker:
        codename = release()
        os.environ['TESTHOSTS_STATE'] = '%s-%s' % (default_state_dir(codename), worker)
        os.environ['TESTHOSTS_NETWORK'] = Network(codename).prefix + worker[len('gw'):]


def pytest_report_header():
    return ['test hosts: Debian %s' % release(), 'controller: %s (%s)' % (controller_version(), BIN)]


class SessionHosts:
    """Test hosts booted for one test module, all removed when it ends (a module starts clean,
    and leaves nothing for the next, whose tests may look at the whole machine)."""

    def __init__(self):
        self.harness = Harness()
        self.names = []

    def up(self, *names):
        self.names.extend(name for name in names if name not in self.names)
        return self.harness.up(names)

    def down(self):
        self.harness.down(self.names)


@pytest.fixture(scope='module')
def testhost_session():
    session = SessionHosts()
    # A CI time-out sends SIGTERM: turn it into the interrupt pytest tears fixtures down on.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield session
    finally:
        session.down()
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope='module')
def testhosts(request, testhost_session):
    """Running hosts by name.  Which hosts: parametrise indirectly, e.g.
    ``@pytest.mark.parametrize('testhosts', [('pair', 'relay')], indirect=True)``; default one ``host``."""
    names = tuple(getattr(request, 'param', ('host',)))
    return dict(zip(names, testhost_session.up(*names)))


@pytest.fixture(scope='session')
def ed25519_lines(tmp_path_factory):
    """Ten distinct ``ssh-ed25519 AAAA... comment`` public key lines, made by the real ssh-keygen."""
    directory = tmp_path_factory.mktemp('ed25519')
    lines = []
    for index in range(10):
        path = directory / ('key%d' % index)
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'laptop-%d' % index, '-f', str(path)],
                       check=True)
        lines.append((directory / ('key%d.pub' % index)).read_text().strip())
    return lines
