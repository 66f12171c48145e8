"""pairing.tmux.ngrok_tunnel on a real test host, against tests/ngrok/fake_ngrok.py: ngrok's cloud
is unreachable from the test machines, so a local double of the agent reads the same
configuration, logs the same records and really forwards a TCP port to sshd."""

import os
import shlex
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


def proc_status(host, field):
    """A field of the service's main process from the kernel (/proc/PID/status), e.g. its real uid."""
    status = host.run('cat /proc/%s/status' % main_pid(host)).stdout
    return next(line.split()[1] for line in status.splitlines() if line.startswith(field + ':'))


def address(result):
    return result['host'], result['port']


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


def test_the_agent_runs_as_an_account_of_its_own_and_reads_the_token_as_a_credential(host):
    assert tunnel(host, authtoken='first-token')[1]['status'] == 'ok'
    uid = proc_status(host, 'Uid')
    # An account systemd made for the service (DynamicUser=: 61184-65519), none of the box's.
    assert 61184 <= int(uid) <= 65519, uid
    assert host.run('systemctl show -p DynamicUser --value pairing-ngrok').stdout.strip() == 'yes'
    assert int(proc_status(host, 'CapBnd'), 16) == 0 and int(proc_status(host, 'CapEff'), 16) == 0
    assert proc_status(host, 'NoNewPrivs') == '1'
    # The file stays root's and 0600, the agent's account cannot open it: it reads systemd's copy.
    assert host.run('stat -c "%a %U" /etc/ngrok/pairing.yml').stdout.split() == ['600', 'root']
    assert host.run('setpriv --reuid=%s --regid=%s --clear-groups cat /etc/ngrok/pairing.yml' % (uid, uid),
                    check=False).returncode != 0
    command = host.run("tr '\\0' ' ' < /proc/%s/cmdline" % main_pid(host)).stdout
    assert '--config /run/credentials/pairing-ngrok.service/ngrok.yml' in command, command


def test_no_local_api_and_nothing_listens_but_the_tunnel(host):
    assert tunnel(host, authtoken='first-token')[1]['status'] == 'ok'
    assert '"web_addr": false' in host.run('cat /etc/ngrok/pairing.yml').stdout
    assert host.run("ss -Hltn 'sport = :4040'").stdout.strip() == ''
    listening = host.run('ss -Hltnp').stdout.splitlines()
    ours = [line for line in listening if 'pid=%s,' % main_pid(host) in line]
    assert len(ours) == 1, listening  # the double's forwarded port (the real agent listens on nothing)


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


FORGED = ('{"addr":"//localhost:22","lvl":"info","msg":"started tunnel","name":"pairing-ssh","obj":"tunnels",'
          '"t":"2026-03-01T10:00:00Z","url":"tcp://203.0.113.7:2222"}')


def test_the_agent_s_record_printed_by_a_local_account_gives_no_address(host):
    """A local account logs the agent's record (logger, systemd-cat) after the agent logged its
    own: the last record in the journal is the forged one, and it is not taken."""
    host.run('id forger >/dev/null 2>&1 || useradd --create-home forger')
    forge = 'logger -t ngrok %s; echo %s | systemd-cat -t ngrok' % (shlex.quote(FORGED), shlex.quote(FORGED))
    host.run('su forger -s /bin/sh -c %s' % shlex.quote(forge))
    assert 'tcp://203.0.113.7:2222' in host.run('journalctl -o cat -t ngrok').stdout  # the forgery is there
    run, record = tunnel(host, authtoken='second-token')
    assert record['status'] == 'ok', run.output[-2000:]
    assert record['result']['public_url'] != 'tcp://203.0.113.7:2222'
    assert banner(*address(record['result'])).startswith(b'SSH-2.0-')


SILENT = """[Service]
ExecStart=
ExecStart=/usr/local/bin/ngrok start --all --config ${CREDENTIALS_DIRECTORY}/ngrok.yml
"""


def test_an_earlier_run_s_address_is_not_taken_and_an_agent_that_logs_nothing_is_a_clear_error(host):
    """The agent's next run logs nothing (no --log): the address its earlier run logged is not
    reported, and the error says the agent logged no error."""
    before = tunnel(host, authtoken='second-token')[1]['result']
    dropin = '/etc/systemd/system/pairing-ngrok.service.d/silent.conf'
    host.run('install -D -m 644 /dev/stdin %s && systemctl daemon-reload && systemctl restart pairing-ngrok' % dropin,
             input=SILENT)
    try:
        record = tunnel(host, authtoken='second-token', wait_timeout=3)[1]
        assert record['status'] == 'failed'
        assert record['result']['msg'] == ('the ngrok agent did not report endpoint pairing-ssh within 3 s and logged '
                                           'no error: see journalctl -u pairing-ngrok')
        assert before['public_url'] not in str(record['result'])
    finally:
        host.run('rm -rf %s && systemctl daemon-reload && systemctl restart pairing-ngrok' % os.path.dirname(dropin))
    run, record = tunnel(host, authtoken='second-token')
    assert record['status'] == 'ok', run.output[-2000:]
    assert banner(*address(record['result'])).startswith(b'SSH-2.0-')


def test_an_agent_that_never_logs_the_endpoint_says_what_it_last_logged_at_error_level(host):
    # A refused token: the agent logs why and exits at once (as ngrok does with ERR_NGROK_105).
    record = tunnel(host, authtoken='invalid', wait_timeout=3,
                    service='pairing-ngrok-nowhere', config_path='/etc/ngrok/nowhere.yml')[1]
    assert record['status'] == 'failed'
    assert record['result']['msg'] == (
        'the ngrok agent did not report endpoint pairing-ssh within 3 s; it last logged the error: command failed: '
        'authentication failed: The authtoken you specified is not valid (test double).')
    tunnel(host, state='absent', service='pairing-ngrok-nowhere', config_path='/etc/ngrok/nowhere.yml')


def test_check_mode_changes_nothing_and_absent_removes_it(host):
    record = tunnel(host, check=True, authtoken='third-token')[1]
    assert record['status'] == 'changed'
    assert 'third-token' not in host.run('cat /etc/ngrok/pairing.yml').stdout
    record = tunnel(host, state='absent')[1]
    assert record['status'] == 'changed'
    assert host.run('ls /etc/ngrok/pairing.yml /etc/systemd/system/pairing-ngrok.service', check=False).stdout == ''
    assert host.run('ls -d /var/lib/pairing-ngrok /var/lib/private/pairing-ngrok', check=False).stdout == ''
    assert host.run('systemctl is-active pairing-ngrok', check=False).stdout.strip() in ('inactive', 'unknown')
    assert tunnel(host, state='absent')[1]['status'] == 'ok'
