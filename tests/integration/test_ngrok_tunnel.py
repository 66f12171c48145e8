"""pairing.tmux.ngrok_tunnel on a real test host, against tests/ngrok/fake_ngrok.py: ngrok's cloud
is unreachable from the test machines, so a local double of the agent reads the same
configuration, serves the same API and really forwards a TCP port to sshd."""

import os
import socket
import time

import pytest
from ansible_run import run_module

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason='test hosts need root'),
              pytest.mark.parametrize('testhosts', [('ngrok',)], indirect=True)]

DOUBLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'ngrok', 'fake_ngrok.py')


@pytest.fixture(scope='module')
def host(testhosts):
    host = testhosts['ngrok']
    with open(DOUBLE) as handle:
        host.run('install -m 755 /dev/stdin /usr/local/bin/ngrok', input='#!/usr/bin/python3\n' + handle.read())
    return host


def tunnel(host, options=(), check=False, diff=False, **args):
    return run_module(host, 'pairing.tmux.ngrok_tunnel', args, check=check, diff=diff, options=options)


def main_pid(host):
    return host.run('systemctl show -p MainPID --value pairing-ngrok').stdout.strip()


def banner(address, port):
    with socket.create_connection((address, port), timeout=10) as conn:
        return conn.recv(64)


def test_a_tunnel_that_really_reaches_sshd(host):
    run, record = tunnel(host, authtoken='first-token')
    assert record['status'] == 'changed', run.output[-2000:]
    result = record['result']
    assert result['host'] == host.address and result['public_url'] == 'tcp://%s:%d' % (host.address, result['port'])
    assert result['ssh_command'] == 'ssh -t -p %d tmux@%s' % (result['port'], host.address)
    assert banner(result['host'], result['port']).startswith(b'SSH-2.0-OpenSSH')
    assert host.run('stat -c "%a %U" /etc/ngrok/pairing.yml').stdout.split() == ['600', 'root']
    assert host.run('systemctl show -p Restart --value pairing-ngrok').stdout.strip() == 'always'


def test_same_token_changes_nothing_and_keeps_the_agent(host):
    before = tunnel(host, authtoken='first-token')[1]['result']
    pid = main_pid(host)
    record = tunnel(host, authtoken='first-token')[1]
    assert record['status'] == 'ok'
    assert main_pid(host) == pid and record['result']['public_url'] == before['public_url']


def test_a_new_token_restarts_the_agent_and_the_diff_masks_both(host):
    pid = main_pid(host)
    run, record = tunnel(host, diff=True, authtoken='second-token')
    assert record['status'] == 'changed'
    assert main_pid(host) != pid
    assert '"authtoken": "********"' in record['result']['diff']['after']
    assert 'first-token' not in run.output and 'second-token' not in run.output
    assert banner(record['result']['host'], record['result']['port']).startswith(b'SSH-2.0-')


def test_a_killed_agent_comes_back_and_the_new_address_is_reported(host):
    before = tunnel(host, authtoken='second-token')[1]['result']
    killed = main_pid(host)
    host.run('kill -9 %s' % killed)
    deadline = time.monotonic() + 30  # RestartSec=5: systemd, not Ansible, brings it back
    while main_pid(host) in ('0', killed) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert main_pid(host) not in ('0', killed)
    run, record = tunnel(host, authtoken='second-token')
    assert record['status'] == 'ok', run.output[-2000:]
    after = record['result']
    assert banner(after['host'], after['port']).startswith(b'SSH-2.0-')
    assert (after['port'] != before['port']) or after['public_url'] == before['public_url']


def test_verbose_output_never_shows_the_token(host):
    run, record = tunnel(host, options=['-vvv'], authtoken='second-token')
    assert record['status'] == 'ok'
    assert 'second-token' not in run.output
    assert 'pairing.tmux.ngrok_tunnel' in run.output  # the verbose output is really there


def test_an_api_that_never_answers_is_a_clear_error(host):
    # A refused token: the agent exits at once (as ngrok does with ERR_NGROK_105), no API ever answers.
    record = tunnel(host, authtoken='invalid', api_url='http://127.0.0.1:4049', wait_timeout=3,
                    service='pairing-ngrok-nowhere', config_path='/etc/ngrok/nowhere.yml')[1]
    assert record['status'] == 'failed'
    assert record['result']['msg'] == ('the ngrok agent did not report endpoint pairing-ssh at http://127.0.0.1:4049 '
                                       'within 3 s: see journalctl -u pairing-ngrok-nowhere')
    tunnel(host, state='absent', service='pairing-ngrok-nowhere', config_path='/etc/ngrok/nowhere.yml')


def test_check_mode_changes_nothing_and_absent_removes_it(host):
    record = tunnel(host, check=True, authtoken='third-token')[1]
    assert record['status'] == 'changed'
    assert 'third-token' not in host.run('cat /etc/ngrok/pairing.yml').stdout
    record = tunnel(host, state='absent')[1]
    assert record['status'] == 'changed'
    assert host.run('ls /etc/ngrok/pairing.yml /etc/systemd/system/pairing-ngrok.service', check=False).stdout == ''
    assert host.run('systemctl is-active pairing-ngrok', check=False).stdout.strip() in ('inactive', 'unknown')
    assert tunnel(host, state='absent')[1]['status'] == 'ok'
