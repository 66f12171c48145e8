"""Time-boxed access for real: a grant `for` a duration ends a live session on time, with no
Ansible run (pairing-revoke.timer), and sshd refuses the key from then on."""

import os
import re
import time

import pytest
from pairing_env import Terminal, make_pairing

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason='test hosts need root'),
              pytest.mark.parametrize('testhosts', [('expiry',)], indirect=True)]


@pytest.fixture(scope='module')
def pairing(testhosts, key_server, keys):
    pairing = make_pairing(testhosts, key_server, keys, 'expiry')
    yield pairing
    Terminal.close_all()


def host_clock(host):
    return float(host.run('date +%s.%N').stdout)


def test_a_two_minute_grant_ends_a_live_session_on_time_without_a_run(pairing):
    host = pairing.host
    granted = host_clock(host)
    run = pairing.converge(pairing_guests=['alice'], pairing_key_expiry='2m')
    assert run.returncode == 0, run.output[-3000:]
    line = host.run('grep "pairing.tmux:github:alice$" /etc/ssh/pairing/authorized_keys').stdout
    stamp = re.search(r'expiry-time="(\d{12})Z"', line).group(1)
    when = '%s-%s-%s %s:%s' % (stamp[:4], stamp[4:6], stamp[6:8], stamp[8:10], stamp[10:])
    expiry = float(host.run('date -u -d "%s" +%%s' % when).stdout)
    assert expiry - granted >= 120 and expiry - host_clock(host) <= 180

    guest = pairing.terminal('alice-for-2m', 'alice')
    try:
        assert guest.wait_for('dev@expiry'), guest.screen()
        time.sleep(max(0, expiry - host_clock(host) - 5))
        assert '[ssh exited' not in guest.screen(), 'the session ended before the grant did'
        assert guest.wait_for('[ssh exited', timeout=20), 'the session outlived its grant'
        assert host_clock(host) - expiry <= 15
        assert 'key revoked' in host.run('journalctl -t pairing -b --no-pager -o cat').stdout
        assert pairing.ssh('alice', '-tt').returncode == 255  # sshd refuses the expired key
    finally:
        guest.close()
