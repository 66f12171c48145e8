"""A pairing host (and a relay) converged by the real roles, and guests with real ssh clients.

Shared by tests/e2e/ and benchmarks/connect.py.

Guests' keys are made here by ssh-keygen and served by tests/keyserver.py on 127.0.0.1 (the
controller fetches them, as it would from GitHub). Each guest's terminal is a real `ssh -tt`
inside a tmux server of the test's own: send-keys types, capture-pane reads what they see.
"""

import os
import shlex
import socket
import subprocess
import time

from ansible_run import run_playbook

# As the playbooks run the role: no facts (its first look finds what it needs); molecule's default
# scenario runs it after a play that gathers them.
ROLE_PLAY = """
- name: Pairing host
  hosts: %(host)s
  gather_facts: false
  roles:
    - role: pairing.tmux.host
"""
RELAY_PLAY = """
- name: Relay
  hosts: %(relay)s
  gather_facts: false
  roles:
    - role: pairing.tmux.relay
      pairing_relay_tunnel_keys: ["{{ hostvars['%(host)s'].pairing_tunnel_public_key }}"]
"""
GUESTS = ('alice', 'bob', 'carol', 'mallory')
SOCKET = '/run/pairing/tmux.sock'  # the host role's pairing_socket


class Keys:
    """Key pairs made on the controller: the guests', or strangers' (keys no one listed)."""

    def __init__(self, directory, names=GUESTS):
        self.directory = directory
        self.names = names
        for name in names:
            subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', self.private(name)],
                           check=True)

    def private(self, name):
        return os.path.join(self.directory, name)

    def public(self, name):
        with open(self.private(name) + '.pub') as handle:
            return ' '.join(handle.read().split()[:2])


def identity_argv(identities, user, address, port=22, *options):
    """ssh offering exactly ``identities``, in order; ``options`` come first, so they win."""
    return ['ssh', *[arg for identity in identities for arg in ('-i', identity)], '-p', str(port), *options,
            '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
            '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10',
            '%s@%s' % (user, address)]


def ssh_argv(keys, guest, address, port=22, *options, user='tmux'):
    return identity_argv([keys.private(guest)], user, address, port, *options)


def ssh_run(argv, *command, timeout=30):
    return subprocess.run([*argv, *command], capture_output=True, text=True, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL)


def shows(read, text, timeout=15):
    """Whether text shows in read() within timeout seconds: keys travel through ssh and tmux."""
    deadline = time.monotonic() + timeout
    while True:
        if text in read():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


class Terminal:
    """A guest's terminal: ``ssh -tt`` in the test's own tmux server."""

    server = 'pairing-e2e-%d' % os.getpid()

    def __init__(self, name, argv):
        self.name = name
        command = ['tmux', '-L', self.server, 'new-session', '-d', '-s', name, '-x', '160', '-y', '45',
                   '%s; echo "[ssh exited $?]"; sleep 100000' % shlex.join(argv)]
        # Closing the last terminal ends the server after kill-session returns: a new-session that
        # meets it still going away fails ("server exited unexpectedly"), and the next one starts anew.
        for _attempt in range(3):
            started = subprocess.run(command, capture_output=True, text=True, check=False)
            if 'server exited unexpectedly' not in started.stderr:
                break
            time.sleep(0.2)
        if started.returncode != 0:
            raise subprocess.CalledProcessError(started.returncode, command, started.stdout, started.stderr)

    def keys(self, *keys, literal=False):
        subprocess.run(['tmux', '-L', self.server, 'send-keys', '-t', '=%s:' % self.name,
                        *(['-l'] if literal else []), *keys], check=True)
        time.sleep(0.3)

    def type(self, text):
        self.keys(text, literal=True)
        self.keys('Enter')

    def screen(self):
        return subprocess.run(['tmux', '-L', self.server, 'capture-pane', '-p', '-t', '=%s:' % self.name],
                              capture_output=True, text=True, check=True).stdout

    def wait_for(self, text, timeout=15):
        return shows(self.screen, text, timeout)

    def close(self):
        subprocess.run(['tmux', '-L', self.server, 'kill-session', '-t', '=%s:' % self.name], check=False,
                       capture_output=True)

    @classmethod
    def close_all(cls):
        subprocess.run(['tmux', '-L', cls.server, 'kill-server'], check=False, capture_output=True)


class Pairing:
    """The converged pairing host, its key server, the guests' keys, and ways to talk to it."""

    def __init__(self, hosts, server, keys, name, relay='relay'):
        self.hosts, self.server, self.keys = hosts, server, keys
        self.name, self.relay = name, relay
        self.host = hosts[name]
        self.vars = {'pairing_owner': 'dev', 'pairing_guests': ['alice', 'bob'], 'pairing_read_only_guests': ['carol'],
                     'pairing_github_url': server.url, 'pairing_allow_http': True}

    def converge(self, check=False, relay=False, options=(), **overrides):
        play = ROLE_PLAY + (RELAY_PLAY if relay else '')
        inventory = self.host.harness.inventory(list(self.hosts))
        return run_playbook(play % {'host': self.name, 'relay': self.relay}, inventory, {**self.vars, **overrides},
                            check=check, options=options)

    def ssh(self, guest, *options, command=(), user='tmux', timeout=30, address=None, port=22):
        argv = ssh_argv(self.keys, guest, address or self.host.address, port, *options, user=user)
        return ssh_run(argv, *command, timeout=timeout)

    def terminal(self, name, guest, *options, address=None, port=22, offered_first=()):
        """A guest's terminal; their client offers the keys ``offered_first`` before their own."""
        identities = [*offered_first, self.keys.private(guest)]
        return Terminal(name, identity_argv(identities, 'tmux', address or self.host.address, port, '-tt', *options))

    def lands(self, name, guest, timeout=15, **where):
        """Whether ``guest`` lands in the session (sees the owner's prompt) within ``timeout`` seconds."""
        terminal = self.terminal(name, guest, **where)
        try:
            return terminal.wait_for('dev@%s' % self.name, timeout=timeout) or terminal.screen()
        finally:
            terminal.close()

    def pane(self):
        return self.host.run('tmux -S %s capture-pane -p -t =pairing:pairing' % SOCKET).stdout

    def pane_shows(self, text):
        return shows(self.pane, text)


def prepare_owner(host, harness_key):
    """The owner `dev`: an ordinary account with its own key and dotfiles."""
    host.run('id dev || useradd --create-home --shell /bin/bash dev; install -d -o dev -m 700 ~dev/.ssh; '
             'install -o dev -m 600 /dev/stdin ~dev/.ssh/authorized_keys; '
             'printf "alias ll=\\"ls -l\\"\\n" | install -o dev -m 644 /dev/stdin ~dev/.bash_aliases',
             input=harness_key)


def make_pairing(testhosts, key_server, keys, name, relay='relay', **overrides):
    """A Pairing on the test host ``name``, its owner prepared, not converged yet."""
    host = testhosts[name]
    with open(host.harness.key + '.pub') as handle:
        prepare_owner(host, handle.read())
    pairing = Pairing(testhosts, key_server, keys, name, relay)
    pairing.vars.update(overrides)
    return pairing


def wait_for_listener(host, port, timeout=60):
    """Until something listens on ``port`` of ``host`` (a relay, once the tunnel is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ':%d ' % port in host.run('ss -Hltn', check=False).stdout:
            return
        time.sleep(0.5)
    log = host.run('journalctl -n 20 -u ssh', check=False).stdout
    raise AssertionError('nothing listened on %s:%d within %d s: %s' % (host.name, port, timeout, log))


# What a tunnel publishes: the tests of tests/e2e/test_relay.py and test_ngrok_provider.py.

def login_as(host, user, address=None, port=22):
    """``ssh USER@ADDRESS true`` with the harness's key, which root and the owner accept."""
    return ssh_run(identity_argv([host.harness.key], user, address or host.address, port), 'true')


def only_guests_get_through(pairing, address, port):
    """The owner's key and root's work on the LAN port and are refused through the tunnel, which
    offers no method but public keys; a guest lands."""
    for user in ('dev', 'root'):
        direct = login_as(pairing.host, user)
        assert direct.returncode == 0, (user, direct.stderr)
        tunnelled = login_as(pairing.host, user, address, port)
        assert tunnelled.returncode == 255 and 'Permission denied (publickey)' in tunnelled.stderr, (user, tunnelled)
    password = ssh_run(identity_argv([], 'dev', address, port, '-o', 'PubkeyAuthentication=no',
                                     '-o', 'PreferredAuthentications=password,keyboard-interactive'), 'true')
    assert 'Permission denied (publickey)' in password.stderr, password.stderr
    assert pairing.lands('door', 'alice', address=address, port=port) is True


def strangers_fail(address, port, strangers, times=15):
    """A stranger fails to log in ``times`` times through (address, port)."""
    argv = identity_argv([strangers.private(strangers.names[0])], 'tmux', address, port)
    failures = [ssh_run(argv, 'true') for attempt in range(times)]
    assert [failure.returncode for failure in failures] == [255] * times, failures[-1]


def banner(address, port):
    """Whether sshd at (address, port) greets a new connection."""
    with socket.create_connection((address, port), timeout=10) as conn:
        try:
            return conn.recv(64).startswith(b'SSH-')
        except OSError:
            return False


def strangers_are_held(address, port, strangers, max_startups=10):
    """What still limits strangers through a tunnel: the tunnel's sshd drops unauthenticated
    connections beyond ``max_startups`` (MaxStartups) and ends one after 6 refused keys
    (MaxAuthTries)."""
    held = [socket.create_connection((address, port), timeout=10) for connection in range(max_startups)]
    try:
        for conn in held:
            assert conn.recv(64).startswith(b'SSH-2.0-')
        with socket.create_connection((address, port), timeout=10) as extra:
            said = extra.recv(64)
            assert not said.startswith(b'SSH-'), said  # dropped: no banner, at most "Exceeded MaxStartups"
    finally:
        for conn in held:
            conn.close()
    # sshd counts a closed connection out once its child has gone (through a tunnel, once the
    # forwarder closed its side too): until then the next one is still dropped.
    deadline = time.monotonic() + 15
    while not banner(address, port) and time.monotonic() < deadline:
        time.sleep(0.2)
    many = ssh_run(identity_argv([strangers.private(name) for name in strangers.names], 'tmux', address, port,
                                 '-o', 'LogLevel=INFO'), 'true')
    assert 'Too many authentication failures' in many.stderr, many.stderr


# What a run that must change nothing may not touch: every file, directory and link under /etc,
# /usr/local, /var/lib and /run, with owner, mode and content; but what the system changes by
# itself while Ansible logs in and out (logind sessions, utmp, the journal, systemd's own state).
_SNAPSHOT_ROOTS = '/etc /usr/local /var/lib /run'
_SYSTEM_CHURN = ('/run/systemd', '/run/user', '/run/log', '/run/utmp', '/run/credentials', '/var/lib/systemd')
_FIND = 'find %s -xdev \\( %s \\) -prune -o' % (
    _SNAPSHOT_ROOTS, ' -o '.join('-path %s' % path for path in _SYSTEM_CHURN))


def snapshot(host):
    """The state :data:`_SNAPSHOT_ROOTS` are in, as text to compare before and after."""
    return host.run("%s -printf '%%p %%y %%u:%%g %%m %%l\\n' | sort; %s -type f -print0 | sort -z | xargs -0 sha256sum"
                    % (_FIND, _FIND)).stdout
