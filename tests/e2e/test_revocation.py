"""Revocation under attack: nothing a client or a local user writes steers it, nothing a revoked
guest started survives it, a guest's tmux client runs no program, role changes reach live
sessions, and names compare as GitHub compares them."""

import contextlib
import os
import shlex
import socket
import subprocess
import time

import pytest
from ansible_run import run_playbook
from pairing_env import SOCKET, Terminal, make_pairing, ssh_argv

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason='test hosts need root'),
              pytest.mark.parametrize('testhosts', [('revoke',)], indirect=True)]

# Runs that change only the guest list take the guests-only path, as pair.yml's do: the same
# revocation tasks as the whole role's (test_host.py and test_relay.py revoke on that one).
GUESTS_ONLY = {'pairing_fast_path': True}
UNPAIR_PLAY = """
- name: Unpair
  hosts: revoke
  tasks:
    - name: Revoke
      ansible.builtin.include_role:
        name: pairing.tmux.host
        tasks_from: unpair.yml
"""


@pytest.fixture(scope='module')
def pairing(testhosts, key_server, keys):
    pairing = make_pairing(testhosts, key_server, keys, 'revoke')
    run = pairing.converge()
    assert run.returncode == 0, run.output[-4000:]
    yield pairing
    Terminal.close_all()


def fingerprint(keys, guest):
    return subprocess.run(['ssh-keygen', '-lf', keys.private(guest) + '.pub'], capture_output=True, text=True,
                          check=True).stdout.split()[1]


def alias_sessions(host):
    """{logind session id: leader pid} of the guests' account's logins (not its user manager's)."""
    uid = host.run('id -u tmux').stdout.strip()
    found = {}
    for fields in (line.split() for line in host.run('loginctl list-sessions --no-legend').stdout.splitlines()):
        if len(fields) >= 2 and fields[1] == uid:
            shown = host.run('loginctl show-session %s -p Leader -p Class' % fields[0]).stdout.split()
            properties = dict(line.split('=', 1) for line in shown)
            if properties['Class'] == 'user':
                found[fields[0]] = int(properties['Leader'])
    return found


class Hidden:
    """A guest's `ssh -N`: connected, runs nothing, and the logind session it opened."""

    def __init__(self, pairing, guest):
        before = alias_sessions(pairing.host)
        self.process = subprocess.Popen(ssh_argv(pairing.keys, guest, pairing.host.address, 22, '-N'),
                                        stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            new = {session: leader for session, leader in alias_sessions(pairing.host).items() if session not in before}
            if new:
                (self.session, self.leader), = new.items()
                return
            assert self.process.poll() is None, self.process.stderr.read()
            time.sleep(0.3)
        raise AssertionError('%s: no logind session appeared for the ssh -N connection' % guest)

    def ended(self, timeout=15):
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def plant(host, text):
    """``text`` in the journal the two ways no account is needed for: as the identification
    string of a client that never authenticates (sshd logs it verbatim), and through logger
    run by the local user dev, under sshd's names and the pid the text names."""
    with socket.create_connection((host.address, 22), timeout=5) as conn:
        conn.recv(256)
        conn.sendall(text.encode() + b'\r\n')
        conn.settimeout(5)
        with contextlib.suppress(OSError):
            conn.recv(256)  # sshd's answer to a client that speaks no ssh
    pid = text.rsplit('[', 1)[1].split(']')[0]
    for tag in ('sshd', 'sshd-session'):
        host.run('su dev -c %s' % shlex.quote('logger -p auth.info -t %s --id=%s %s' % (tag, pid, shlex.quote(text))))


@pytest.fixture(scope='module')
def revocation(pairing):
    """One run that revokes bob, after what an attacker prepared for it. Connected with ssh -N:
    alice (still listed), bob (revoked by the run, a process of his own started with setsid in
    his connection's scope) and carol (her key removed behind Ansible's back, so the run
    reports nothing removed for her). Lines naming bob's key and the pids of the sshd listener
    and of alice's connection are in the journal, written by a client that never logged in and
    by the local user dev."""
    host = pairing.host
    alice, bob, carol = Hidden(pairing, 'alice'), Hidden(pairing, 'bob'), Hidden(pairing, 'carol')
    listener = host.run('systemctl show -p MainPID --value ssh').stdout.strip()
    setsid = start_in_scope(host, bob.session)
    bob_key = fingerprint(pairing.keys, 'bob')
    for pid in (listener, alice.leader):
        for name in ('sshd', 'sshd-session'):
            plant(host, 'Accepted publickey for tmux from 192.0.2.7 port 4242 ssh2: ED25519 %s %s[%s]: x'
                  % (bob_key, name, pid))
    assert 'client sent invalid protocol identifier "Accepted publickey' in host.run(
        'journalctl -b --no-pager -o cat').stdout  # the client's text did reach the journal
    host.run("sed -i '/pairing.tmux:github:carol:ro$/d' /etc/ssh/pairing/authorized_keys")

    run = pairing.converge(pairing_guests=['alice'], pairing_read_only_guests=[], **GUESTS_ONLY)
    assert run.returncode == 0, run.output[-3000:]
    yield {'alice': alice, 'bob': bob, 'carol': carol, 'listener': listener, 'setsid': setsid}
    for connection in (alice, bob, carol):
        connection.close()


def start_in_scope(host, session):
    """A process as if the guest had started it from that connection: the alias account, a
    session of its own (setsid), in the connection's logind scope. Its pid."""
    pid = host.run('setpriv --reuid=tmux --regid=tmux --clear-groups setsid sleep 100000 '
                   '</dev/null >/dev/null 2>&1 & echo $!').stdout.strip()
    scope = host.run('systemctl show -p ControlGroup --value session-%s.scope' % session).stdout.strip()
    host.run('for tree in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified /sys/fs/cgroup; do '
             '[ -e "$tree%s/cgroup.procs" ] && echo %s > "$tree%s/cgroup.procs"; done; true' % (scope, pid, scope))
    assert scope in host.run('cat /proc/%s/cgroup' % pid).stdout
    return pid


def test_log_lines_a_client_or_a_local_user_writes_end_no_process(pairing, revocation):
    host = pairing.host
    assert revocation['alice'].process.poll() is None, 'alice (still listed) lost her connection'
    assert host.run('systemctl show -p MainPID --value ssh').stdout.strip() == revocation['listener']
    assert host.run('systemctl is-active ssh').stdout.strip() == 'active'
    owner = subprocess.run(['ssh', '-F', host.harness.ssh_config, '-l', 'dev', host.name, 'id -un'],
                           capture_output=True, text=True, timeout=30, check=False)
    assert owner.stdout.strip() == 'dev', owner.stderr


def test_everything_a_revoked_guest_started_ends_with_their_connection(pairing, revocation):
    assert revocation['bob'].ended(), "the revoked key's ssh -N is still connected"
    gone = pairing.host.run('for i in $(seq 50); do kill -0 %s 2>/dev/null || exit 0; sleep 0.2; done; exit 1'
                            % revocation['setsid'], check=False)
    assert gone.returncode == 0, 'a process bob started survived his revocation'


def test_a_connection_no_run_reported_removed_is_ended_by_the_next_run(revocation):
    assert revocation['carol'].ended(), 'a connection of a key removed behind the run outlived it'


def test_a_read_write_guest_s_tmux_client_runs_no_program(pairing):
    host = pairing.host
    guest = pairing.terminal('alice-exec', 'alice')
    try:
        assert guest.wait_for('dev@revoke'), guest.screen()
        guest.keys('C-b', ':')
        guest.type("set -g lock-command 'touch /tmp/by-lock-command'")
        guest.keys('C-b', ':')
        guest.type('lock-client')
        time.sleep(2)
        guest.keys('C-b', ':')
        guest.type("detach-client -E 'touch /tmp/by-detach-exec'")
        time.sleep(2)
        assert host.run('ls /tmp/by-lock-command /tmp/by-detach-exec', check=False).returncode == 2
        assert host.run('find / -xdev -user tmux -newer /etc/ssh/pairing/authorized_keys -print -quit').stdout == ''
        assert host.run('systemctl is-active pairing-tmux.service').stdout.strip() == 'active'
        # Nor could they leave a job behind: cron and at refuse both alias accounts.
        assert host.run('grep -cxE "tmux|tmux-ro" /etc/cron.deny /etc/at.deny').stdout.split() == [
            '/etc/cron.deny:2', '/etc/at.deny:2']
    finally:
        guest.close()
        host.run('tmux -S %s set -gu lock-command' % SOCKET)


def test_read_write_to_read_only_reaches_the_live_session(pairing):
    guest = pairing.terminal('alice-demoted', 'alice')
    try:
        assert guest.wait_for('dev@revoke'), guest.screen()
        run = pairing.converge(pairing_guests=['bob'], pairing_read_only_guests=['alice', 'carol'], **GUESTS_ONLY)
        assert run.returncode == 0, run.output[-3000:]
        assert guest.wait_for('[ssh exited', timeout=10), 'alice still types after she was made read-only'
        ended = pairing.host.run('journalctl -t pairing -b --no-pager -o cat').stdout
        assert '%s): now read-only' % fingerprint(pairing.keys, 'alice') in ended
    finally:
        guest.close()


def test_names_compare_as_github_compares_them(pairing):
    host = pairing.host
    run = pairing.converge(pairing_guests=['Alice', 'bob'], **GUESTS_ONLY)
    assert run.returncode == 0, run.output[-3000:]
    assert host.run('grep -c "pairing.tmux:github:alice$" /etc/ssh/pairing/authorized_keys').stdout.strip() == '1'
    alice = Hidden(pairing, 'alice')
    try:
        inventory = host.harness.inventory(['revoke'])
        unpair = run_playbook(UNPAIR_PLAY, inventory, {'pairing_unpair': 'ALICE,nobody-here'})
        assert unpair.returncode == 0, unpair.output[-3000:]
        assert alice.ended()
        assert 'github:alice' not in host.run('cat /etc/ssh/pairing/authorized_keys').stdout
        said = [record['result'].get('msg') for record in unpair.results(
            'pairing.tmux.host : Say which names had nothing to revoke (GitHub names compare in any case)')]
        assert said == ['pairing: nobody-here not paired on revoke: nothing to revoke for them']
    finally:
        alice.close()
