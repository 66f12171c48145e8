"""pairing.tmux.tmux_session on a real test host: real tmux, real accounts, guests driven
through a tmux server of the test's own (send-keys to type, capture-pane to read)."""

import os
import time

import pytest
from ansible_run import run_module
from pairing_env import shows

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason='test hosts need root'),
              pytest.mark.parametrize('testhosts', [('tmux',)], indirect=True)]

SOCKET = '/run/pairing/tmux.sock'
BASE = {'run_as': 'dev', 'socket_path': SOCKET, 'socket_group': 'pairing',
        'windows': [{'name': 'code'}, {'name': 'side', 'panes': [{'command': 'sleep 100000'},
                                                                 {'command': 'sleep 200000', 'split': 'horizontal'}]}],
        'environment': {'PAIRING': 'yes'},
        'access': [{'user': 'tmux'}, {'user': 'tmux-ro', 'read_only': True}]}


@pytest.fixture(scope='module')
def host(testhosts):
    host = testhosts['tmux']
    host.run('getent group pairing || groupadd pairing; for u in dev tmux tmux-ro stranger; do '
             'id $u || useradd --create-home --shell /bin/bash -G pairing $u; done')
    return host


def spec(**changes):
    return {**BASE, **changes}


@pytest.fixture
def session(host):
    """The host with the pairing session converged to BASE, whatever an earlier test left."""
    converge(host, **BASE)
    return host


def converge(host, check=False, task_environment=None, **args):
    return run_module(host, 'pairing.tmux.tmux_session', args, task_environment, check=check)[1]


class Guest:
    """A guest's terminal: a client of the pairing server, inside the test's own tmux."""

    def __init__(self, host, name, account, read_only_flag=False):
        self.host, self.name = host, name
        attach = 'tmux -S %s attach%s -t pairing' % (SOCKET, ' -r' if read_only_flag else '')
        host.run("tmux -L driver new-session -d -s %s -x 150 -y 40 'runuser -u %s -- %s; sleep 100000'"
                 % (name, account, attach))
        time.sleep(0.5)

    def keys(self, *keys):
        self.host.run('tmux -L driver send-keys -t %s %s' % (self.name, ' '.join("'%s'" % key for key in keys)))
        time.sleep(0.3)

    def type(self, text):
        self.host.run("tmux -L driver send-keys -t %s -l '%s'" % (self.name, text))
        self.keys('Enter')

    def screen(self):
        return self.host.run('tmux -L driver capture-pane -p -t %s' % self.name).stdout

    def close(self):
        self.host.run('tmux -L driver kill-session -t %s' % self.name, check=False)


def pane_text(host, window='code'):
    return host.run('tmux -S %s capture-pane -p -t =pairing:%s' % (SOCKET, window)).stdout


def test_session_windows_socket_access_and_a_rerun_that_keeps_pane_pids(host):
    record = converge(host, **BASE)
    assert record['status'] == 'changed', record
    result = record['result']
    assert [(pane['window'], pane['index']) for pane in result['panes']] == [('code', 0), ('side', 0), ('side', 1)]
    assert result['access'] == {'tmux': False, 'tmux-ro': True}
    assert host.run('stat -c "%%U %%G %%a" %s' % SOCKET).stdout.split() == ['dev', 'pairing', '660']
    assert host.run('ps -o user= -p %d' % result['panes'][0]['pid']).stdout.strip() == 'dev'
    assert 'PAIRING=yes' in host.run('tmux -S %s show-environment -t pairing' % SOCKET).stdout

    again = converge(host, **BASE)
    assert again['status'] == 'ok', again['result']['actions']
    assert again['result']['panes'] == result['panes']


def test_missing_window_is_added_without_touching_the_others(session):
    host = session
    before = converge(host, **BASE)['result']['panes']
    record = converge(host, **spec(windows=[*BASE['windows'], {'name': 'extra'}]))
    assert record['result']['actions'] == ['create window extra']
    assert record['result']['panes'][:3] == before
    host.run('tmux -S %s kill-window -t =pairing:extra' % SOCKET)


def test_socket_mode_is_reapplied_after_tmux_recreates_it(session):
    host = session
    host.run('pkill -USR1 -u dev -x tmux: || pkill -USR1 -u dev tmux; sleep 0.3')
    assert host.run('stat -c %%a %s' % SOCKET).stdout.strip() == '600'
    record = converge(host, **BASE)
    assert 'socket mode 0660' in record['result']['actions']
    assert host.run('stat -c %%a %s' % SOCKET).stdout.strip() == '660'


def test_read_write_guest_types_into_the_session(session):
    host = session
    guest = Guest(host, 'rw', 'tmux')
    try:
        guest.type('echo typed-by-rw-guest')
        assert shows(lambda: pane_text(host), 'typed-by-rw-guest'), pane_text(host)
    finally:
        guest.close()


def test_a_read_only_account_cannot_type_by_the_default_keys(session):
    host = session
    guest = Guest(host, 'ro', 'tmux-ro', read_only_flag=True)
    try:
        guest.type('echo ro-plain')
        guest.keys('C-b', ':')
        guest.type('send-keys -t pairing "echo ro-command" Enter')
        for key in ('(', ')', 'L', 's', 'w'):
            guest.keys('Escape')
            time.sleep(0.6)  # past escape-time: the prefix that follows is not read as M-C-b
            guest.keys('C-b', key)
            guest.type('echo ro-after-%s' % key)
        screen = pane_text(host)
        assert 'ro-' not in screen, screen
        # The guest is attached and watching: its keys were refused, not lost to a failed attach.
        assert host.run('tmux -S %s list-clients -F "#{client_user} #{client_readonly}"' % SOCKET).stdout.split() \
            == ['tmux-ro', '1']
    finally:
        guest.close()


def test_an_account_not_in_access_is_refused(session):
    host = session
    guest = Guest(host, 'stranger', 'stranger')
    try:
        assert shows(guest.screen, 'access not allowed'), guest.screen()
    finally:
        guest.close()


def test_clients_kick_by_github_user_and_by_account(session):
    host = session
    alice, carol = Guest(host, 'alice', 'tmux'), Guest(host, 'carol', 'tmux-ro', read_only_flag=True)
    try:
        clients = converge(host, **BASE)['result']['clients']
        assert sorted((c['account'], c['read_only']) for c in clients) == [('tmux', False), ('tmux-ro', True)]
        by_account = {client['account']: client for client in clients}
        host.run('mkdir -p /run/pairing/clients && printf "github_user=alice\\naccount=tmux\\nread_only=0\\n" > '
                 '/run/pairing/clients/%d' % by_account['tmux']['pid'])
        clients = converge(host, **BASE)['result']['clients']
        assert {c['account']: c['github_user'] for c in clients} == {'tmux': 'alice', 'tmux-ro': None}

        record = converge(host, **spec(kick={'github_users': ['alice']}))
        assert record['result']['kicked'] == [by_account['tmux']['tty']]
        assert [c['account'] for c in record['result']['clients']] == ['tmux-ro']
        assert shows(alice.screen, 'detached'), alice.screen()

        record = converge(host, **spec(kick={'accounts': ['tmux-ro']}))
        assert record['result']['kicked'] == [by_account['tmux-ro']['tty']]
        assert converge(host, **BASE)['result']['clients'] == []
    finally:
        alice.close()
        carol.close()


def test_an_account_removed_from_access_is_detached_at_once(session):
    host = session
    guest = Guest(host, 'ro2', 'tmux-ro', read_only_flag=True)
    try:
        assert [c['account'] for c in converge(host, **BASE)['result']['clients']] == ['tmux-ro']
        record = converge(host, **spec(access=[{'user': 'tmux'}]))
        assert 'revoke tmux-ro' in record['result']['actions']
        assert record['result']['clients'] == []
        assert 'tmux-ro' not in host.run('tmux -S %s server-access -l' % SOCKET).stdout
    finally:
        guest.close()
        converge(host, **BASE)


def test_check_mode_changes_nothing(session):
    host = session
    args = spec(access=[{'user': 'tmux'}], windows=[*BASE['windows'], {'name': 'more'}])
    run, record = run_module(host, 'pairing.tmux.tmux_session', args, check=True, diff=True)
    assert record['status'] == 'changed'
    assert sorted(record['result']['actions']) == ['create window more', 'revoke tmux-ro']
    assert record['result']['diff']['before'] == ('session: pairing\nwindows: code, side\nenvironment: PAIRING=yes\n'
                                                  'access: tmux (read-write), tmux-ro (read-only)\n'
                                                  'socket: pairing 0660\n')
    assert record['result']['diff']['after'] == ('session: pairing\nwindows: code, side, more\n'
                                                 'environment: PAIRING=yes\naccess: tmux (read-write)\n'
                                                 'socket: pairing 0660\n')
    assert '+windows: code, side, more' in run.output
    assert 'tmux-ro (R)' in host.run('tmux -S %s server-access -l' % SOCKET).stdout
    assert 'more' not in host.run('tmux -S %s list-windows -t pairing -F "#{window_name}"' % SOCKET).stdout


def test_refusals_are_one_clear_line(host):
    host.run('mkdir -p /srv/foreign /srv/real && chown stranger /srv/foreign && ln -sfn /srv/real /srv/link '
             '&& mkdir -p /opt/oldtmux && printf "#!/bin/sh\\necho tmux 3.2a\\n" > /opt/oldtmux/tmux '
             '&& chmod +x /opt/oldtmux/tmux')
    cases = [
        (spec(socket_path='/srv/link/tmux.sock'), None,
         '/srv/link is a symbolic link: refusing to use it as the tmux socket'),
        (spec(socket_path='/srv/foreign/tmux.sock'), None,
         '/srv/foreign belongs to stranger, not to root or dev: refusing to put the tmux socket there'),
        (spec(socket_path='/srv/real/old.sock'), {'PATH': '/opt/oldtmux:/usr/sbin:/usr/bin:/sbin:/bin'},
         'access needs tmux 3.3 or later for server-access; this host has 3.2: upgrade tmux, or leave access out'),
        (spec(access=[{'user': 'nobody-here'}]), None,
         'access: no account nobody-here on this host (create it, or remove it from access)'),
    ]
    for args, environment, message in cases:
        record = converge(host, task_environment=environment, **args)
        assert record['status'] == 'failed'
        assert record['result']['msg'] == message


def test_absent_ends_the_session(session):
    host = session
    record = converge(host, state='absent', run_as='dev', socket_path=SOCKET)
    assert record['result']['actions'] == ['kill session pairing']
    assert host.run('runuser -u dev -- tmux -S %s has-session -t pairing' % SOCKET, check=False).returncode != 0
    assert converge(host, state='absent', run_as='dev', socket_path=SOCKET)['status'] == 'ok'
