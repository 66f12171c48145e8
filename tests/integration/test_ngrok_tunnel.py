"""The ngrok agent on a real test host, as the host role runs it (its tasks_from probe.yml, the
run's first look at the host, then ngrok.yml: pairing.tmux.ngrok_tunnel writes the configuration,
the role's template the service, pairing.tmux.ngrok_tunnel_info reads the address), against
tests/ngrok/fake_ngrok.py: ngrok's cloud is unreachable from the test machines, so a local double
of the agent reads the same configuration, logs the same records and really forwards a TCP port
to sshd."""

import os
import shlex
import socket
import time

import pytest
from ansible_run import run_module, run_playbook

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason='test hosts need root'),
              pytest.mark.parametrize('testhosts', [('ngrok',)], indirect=True)]

DOUBLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'ngrok', 'fake_ngrok.py')
ROLE_PLAY = """
- name: The host role's ngrok tasks on one test host
  hosts: all
  gather_facts: false
  tasks:
    - name: What the host has
      ansible.builtin.include_role:
        name: pairing.tmux.host
        tasks_from: probe.yml

    - name: The agent
      ansible.builtin.include_role:
        name: pairing.tmux.host
        tasks_from: ngrok.yml
"""
CONFIG = "pairing.tmux.host : The agent's configuration (the authtoken, one TCP endpoint to the tunnel's sshd)"
ADDRESS = 'pairing.tmux.host : The tunnel to sshd'
NO_CARD = ('ERR_NGROK_8013: add a card to the ngrok account at https://dashboard.ngrok.com/settings#id-verification '
           '- TCP endpoints need one')
REFUSED_TOKEN = ('ERR_NGROK_105: ngrok refused the authtoken: set NGROK_AUTHTOKEN to the token on '
                 'https://dashboard.ngrok.com/get-started/your-authtoken')


@pytest.fixture(scope='module')
def host(testhosts):
    host = testhosts['ngrok']
    with open(DOUBLE) as handle:
        host.run('install -m 755 /dev/stdin /usr/local/bin/ngrok', input='#!/usr/bin/python3\n' + handle.read())
    return host


def role(host, token='second-token', tunnel='ngrok', check=False, diff=False, options=()):
    """The role's ngrok tasks with this token (empty: none given), the tunnel forwarding to the
    host's own sshd (127.0.0.1:22; the tunnel sshd is another test's)."""
    extra_vars = {'pairing_tunnel': tunnel, 'pairing_ngrok_authtoken': token, 'pairing_tunnel_sshd_port': 22,
                  'pairing_owner': 'root'}
    return run_playbook(ROLE_PLAY, host.harness.inventory([host.name]), extra_vars, check=check, diff=diff,
                        options=options)


def address_of(run):
    record = run.result(ADDRESS)
    assert record['status'] == 'ok', run.output[-3000:]
    return record['result']


def info(host, check=False, **args):
    return run_module(host, 'pairing.tmux.ngrok_tunnel_info', args, check=check)[1]


def main_pid(host):
    return host.run('systemctl show -p MainPID --value pairing-ngrok').stdout.strip()


def proc_status(host, field):
    """A field of the service's main process from the kernel (/proc/PID/status), e.g. its real uid."""
    status = host.run('cat /proc/%s/status' % main_pid(host)).stdout
    return next(line.split()[1] for line in status.splitlines() if line.startswith(field + ':'))


def banner(result):
    with socket.create_connection((result['host'], result['port']), timeout=10) as conn:
        return conn.recv(64)


def test_a_tunnel_that_really_reaches_sshd(host):
    run = role(host, token='first-token')
    assert run.returncode == 0, run.output[-3000:]
    assert run.result(CONFIG)['status'] == 'changed'
    result = address_of(run)
    assert result['host'] == host.address and result['public_url'] == 'tcp://%s:%d' % (host.address, result['port'])
    assert result['ssh_command'] == 'ssh -t -p %d tmux@%s' % (result['port'], host.address)
    assert result['active'] == 'active' and result['error'] is None
    assert banner(result).startswith(b'SSH-2.0-OpenSSH')
    assert host.run('stat -c "%a %U" /etc/ngrok/pairing.yml').stdout.split() == ['600', 'root']
    assert host.run('systemctl show -p Restart --value pairing-ngrok').stdout.strip() == 'always'
    # The role's template, running the agent the role found.
    assert host.run('head -1 /etc/systemd/system/pairing-ngrok.service').stdout.strip() == '# Ansible managed'
    assert 'ExecStart=/usr/local/bin/ngrok start' in host.run('cat /etc/systemd/system/pairing-ngrok.service').stdout


def test_the_agent_runs_as_an_account_of_its_own_and_reads_the_token_as_a_credential(host):
    assert role(host, token='first-token').changed() == []
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
    assert '"web_addr": false' in host.run('cat /etc/ngrok/pairing.yml').stdout
    assert host.run("ss -Hltn 'sport = :4040'").stdout.strip() == ''
    listening = host.run('ss -Hltnp').stdout.splitlines()
    ours = [line for line in listening if 'pid=%s,' % main_pid(host) in line]
    assert len(ours) == 1, listening  # the double's forwarded port (the real agent listens on nothing)


def test_same_token_or_none_changes_nothing_and_keeps_the_agent(host):
    pid, before = main_pid(host), info(host)['result']
    for token in ('first-token', ''):  # none given: the configured one is kept
        run = role(host, token=token)
        assert run.changed() == [], run.changed()
        assert main_pid(host) == pid and address_of(run)['public_url'] == before['public_url']
    assert host.run('grep -c first-token /etc/ngrok/pairing.yml').stdout.strip() == '1'


def test_info_answers_at_once_and_changes_nothing_in_check_mode_too(host):
    pid = main_pid(host)
    for check in (False, True):
        record = info(host, check=check)
        assert record['status'] == 'ok'
        assert record['result']['active'] == 'active' and banner(record['result']).startswith(b'SSH-2.0-')
    assert main_pid(host) == pid


def test_a_new_token_restarts_the_agent_and_the_diff_masks_both(host):
    pid = main_pid(host)
    run = role(host, token='second-token', diff=True)
    assert run.changed() == [CONFIG, 'pairing.tmux.host : Start the agent, or restart it with a new configuration '
                                     'or service'], run.changed()
    assert main_pid(host) != pid
    assert '"authtoken": "********"' in run.result(CONFIG)['result']['diff']['after']
    assert 'first-token' not in run.output and 'second-token' not in run.output
    assert banner(address_of(run)).startswith(b'SSH-2.0-')


def test_a_killed_agent_comes_back_and_the_new_address_is_reported(host):
    before = info(host)['result']
    killed = main_pid(host)
    host.run('kill -9 %s' % killed)
    # RestartSec=5: systemd, not Ansible, brings it back; the module waits for its record.
    record = info(host, wait_timeout=30)
    assert record['status'] == 'ok', record
    after = record['result']
    assert main_pid(host) not in ('0', killed)
    assert banner(after).startswith(b'SSH-2.0-')
    assert (after['port'] != before['port']) or after['public_url'] == before['public_url']


def test_verbose_output_never_shows_the_token(host):
    run = role(host, token='second-token', options=['-vvv'])
    assert run.returncode == 0 and run.changed() == []
    assert 'second-token' not in run.output
    # The verbose output is really there (modules travel through ssh's stdin: pipelining).
    assert 'ESTABLISH SSH CONNECTION' in run.output and CONFIG in run.output


FORGED = ('{"addr":"//localhost:22","lvl":"info","msg":"started tunnel","name":"pairing-ssh","obj":"tunnels",'
          '"t":"2026-03-01T10:00:00Z","url":"tcp://203.0.113.7:2222"}')


def test_the_agent_s_record_printed_by_a_local_account_gives_no_address(host):
    """A local account logs the agent's record (logger, systemd-cat) after the agent logged its
    own: the last record in the journal is the forged one, and it is not taken."""
    host.run('id forger >/dev/null 2>&1 || useradd --create-home forger')
    forge = 'logger -t ngrok %s; echo %s | systemd-cat -t ngrok' % (shlex.quote(FORGED), shlex.quote(FORGED))
    host.run('su forger -s /bin/sh -c %s' % shlex.quote(forge))
    assert 'tcp://203.0.113.7:2222' in host.run('journalctl -o cat -t ngrok').stdout  # the forgery is there
    record = info(host, wait_timeout=10)
    assert record['status'] == 'ok', record
    assert record['result']['public_url'] != 'tcp://203.0.113.7:2222'
    assert banner(record['result']).startswith(b'SSH-2.0-')


SILENT = """[Service]
ExecStart=
ExecStart=/usr/local/bin/ngrok start --all --config ${CREDENTIALS_DIRECTORY}/ngrok.yml
"""


def test_an_earlier_run_s_address_is_not_taken_and_an_agent_that_logs_nothing_is_a_clear_error(host):
    """The agent's next run logs nothing (no --log): the address its earlier run logged is not
    reported, and the error says the agent logged no error."""
    before = info(host)['result']
    dropin = '/etc/systemd/system/pairing-ngrok.service.d/silent.conf'
    host.run('install -D -m 644 /dev/stdin %s && systemctl daemon-reload && systemctl restart pairing-ngrok' % dropin,
             input=SILENT)
    try:
        assert info(host)['result']['public_url'] is None  # at once: no address, and no failure
        record = info(host, wait_timeout=3)
        assert record['status'] == 'failed'
        assert record['result']['msg'] == ('the ngrok agent did not report endpoint pairing-ssh within 3 s and logged '
                                           'no error: see journalctl -u pairing-ngrok')
        assert before['public_url'] not in str(record['result'])
    finally:
        host.run('rm -rf %s && systemctl daemon-reload && systemctl restart pairing-ngrok' % os.path.dirname(dropin))
    record = info(host, wait_timeout=30)
    assert record['status'] == 'ok', record
    assert banner(record['result']).startswith(b'SSH-2.0-')


@pytest.mark.parametrize('token, told', [('fail-8013', NO_CARD), ('invalid', REFUSED_TOKEN)])
def test_an_agent_ngrok_refuses_fails_the_run_at_once_with_the_code_and_the_fix(host, token, told):
    """The double logs ngrok's refusal and exits, again at every restart: the role says why in
    one line as soon as the agent logged it, not after its 60 s wait for the address."""
    try:
        started = time.monotonic()
        run = role(host, token=token)
        took = time.monotonic() - started
        record = run.result(ADDRESS)
        assert record['status'] == 'failed', run.output[-3000:]
        assert record['result']['msg'] == 'the ngrok agent could not open endpoint pairing-ssh: ' + told
        assert record['result']['error'] == told and record['result']['public_url'] is None
        assert took < 30, took
        started = time.monotonic()
        record = info(host, wait_timeout=60)  # the module alone, the agent restarted by systemd meanwhile
        assert record['status'] == 'failed' and record['result']['error'] == told
        assert time.monotonic() - started < 20
    finally:
        assert role(host).returncode == 0


def test_without_a_token_only_a_configuration_this_module_wrote_is_kept(host):
    def write(path, **args):
        return run_module(host, 'pairing.tmux.ngrok_tunnel', dict(config_path=path, **args))[1]

    record = write('/etc/ngrok/new.yml')
    assert record['status'] == 'failed'
    assert record['result']['msg'] == 'authtoken is required to create /etc/ngrok/new.yml'
    host.run('printf "version: 3\\nagent:\\n  authtoken: hand-written\\n" > /etc/ngrok/hand.yml')
    record = write('/etc/ngrok/hand.yml', upstream='2022')
    assert record['status'] == 'failed'
    assert record['result']['msg'] == ('no authtoken to keep: /etc/ngrok/hand.yml is not a configuration this module '
                                       'wrote; give the authtoken')
    assert 'authtoken: hand-written' in host.run('cat /etc/ngrok/hand.yml').stdout
    host.run('rm -f /etc/ngrok/hand.yml')


def test_check_mode_changes_nothing_and_another_tunnel_removes_the_agent(host):
    pid = main_pid(host)
    run = role(host, token='third-token', check=True)
    assert run.result(CONFIG)['status'] == 'changed'
    assert 'third-token' not in host.run('cat /etc/ngrok/pairing.yml').stdout and main_pid(host) == pid
    run = role(host, tunnel='none')
    assert run.returncode == 0, run.output[-3000:]
    assert host.run('ls /etc/ngrok/pairing.yml /etc/systemd/system/pairing-ngrok.service', check=False).stdout == ''
    assert host.run('ls -d /var/lib/pairing-ngrok /var/lib/private/pairing-ngrok', check=False).stdout == ''
    assert host.run('systemctl is-active pairing-ngrok', check=False).stdout.strip() in ('inactive', 'unknown')
    assert role(host, tunnel='none').changed() == []
