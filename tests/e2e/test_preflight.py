"""The preflight: a host the role cannot make safe is refused in one line, before any change."""

import os

import pytest
from pairing_env import make_pairing

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason='test hosts need root'),
              pytest.mark.parametrize('testhosts', [('preflight',)], indirect=True)]

# A dpkg-query that reports an older tmux, first on root's PATH: all the preflight asks.
OLD_TMUX = """#!/bin/sh
[ "$4" = tmux ] && { echo 3.2a-4; exit 0; }
exec /usr/bin/dpkg-query "$@"
"""


def test_a_tmux_without_server_access_is_refused_before_any_change(testhosts, key_server, keys):
    pairing = make_pairing(testhosts, key_server, keys, 'preflight')
    host = pairing.host
    host.run('install -m 0755 /dev/stdin /usr/local/bin/dpkg-query', input=OLD_TMUX)
    before = host.run('find /etc /usr/local /var/lib -newer /usr/local/bin/dpkg-query | sort').stdout
    run = pairing.converge()
    assert run.returncode == 2
    (failure,) = [record['result']['msg'] for record in run.records if record['status'] == 'failed']
    assert failure == ('preflight has init systemd, tmux 3.2a-4 and OpenSSH %s (UsePAM yes); pairing.tmux needs '
                       'systemd as PID 1, tmux >= 3.3 and OpenSSH >= 9.1 with UsePAM yes (Debian 12 or 13): nothing '
                       'was changed' % host.run("dpkg-query -W -f '${Version}' openssh-server").stdout)
    assert host.run('find /etc /usr/local /var/lib -newer /usr/local/bin/dpkg-query | sort').stdout == before
    assert host.run('getent passwd tmux', check=False).returncode == 2

    host.run('rm /usr/local/bin/dpkg-query')
    run = pairing.converge()
    assert run.returncode == 0, run.output[-3000:]


def test_a_record_of_the_last_run_the_role_would_not_take_is_refused_before_any_change(testhosts, key_server, keys):
    pairing = make_pairing(testhosts, key_server, keys, 'preflight')
    host = pairing.host
    # What the last full run set up, as someone edited it: a tunnel the role does not know.
    host.run('install -D -m 0600 /dev/stdin /etc/ansible/facts.d/pairing.fact', input='{"tunnel": "sideways"}\n')
    before = host.run('find /etc /usr/local /var/lib -newer /etc/ansible/facts.d/pairing.fact | sort').stdout
    run = pairing.converge()
    assert run.returncode == 2
    (failure,) = [record['result']['msg'] for record in run.records if record['status'] == 'failed']
    said = 'says value of pairing_tunnel must be one of: none, ssh, ngrok, got: sideways'
    assert failure.startswith('/etc/ansible/facts.d/pairing.fact on preflight, where the role keeps what it last set '
                              'up, ' + said), failure
    assert failure.endswith('nothing was changed'), failure
    assert host.run('find /etc /usr/local /var/lib -newer /etc/ansible/facts.d/pairing.fact | sort').stdout == before
