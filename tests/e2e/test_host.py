"""The pairing host, proven by guests who try to escape: each escape is its own test and must fail."""

import os
import socket
import subprocess
import sys
import time

import pytest
from pairing_env import SOCKET, Terminal, make_pairing, shows, ssh_argv

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason='test hosts need root'),
              pytest.mark.parametrize('testhosts', [('pair',)], indirect=True)]

OWNER_FILES = '/home/dev/.ssh/authorized_keys /home/dev/.bash_aliases /home/dev/.bashrc /home/dev/.profile'
# Files the role writes whole, each with a task that runs only where the first look finds it otherwise:
# path: (its task, its mode and owners, a change made behind the role's back).
WRITTEN_WHOLE = {
    '/etc/ansible/facts.d/pairing.fact': (
        'pairing.tmux.host : Remember the tunnel and its settings for the next run (read back by its first look)',
        '600 root:root', 'chown dev:pairing'),
    '/etc/ssh/sshd_config.d/00-pairing.conf': (
        'pairing.tmux.host : The sshd drop-in, tested with the main file and every other drop-in before it is put in '
        'place', '644 root:root', 'chmod 0666'),
}


@pytest.fixture(scope='module')
def pairing(testhosts, key_server, keys):
    pairing = make_pairing(testhosts, key_server, keys, 'pair')
    pairing.owner_before = owner_state(pairing.host)
    run = pairing.converge()
    assert run.returncode == 0, run.output[-4000:]
    yield pairing
    Terminal.close_all()


def owner_state(host):
    return host.run('stat -c "%%n %%U %%a %%s" %s; sha256sum %s; getent passwd dev' % (OWNER_FILES, OWNER_FILES)).stdout


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def banner(port, timeout=3):
    """What answers on a local port: the first bytes, '' when the channel was refused."""
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            return conn.recv(64).decode('latin-1')
    except OSError:
        return ''


def test_listed_guest_lands_in_the_session_and_typing_arrives(pairing):
    guest = pairing.terminal('alice-lands', 'alice')
    try:
        assert guest.wait_for('dev@pair'), guest.screen()
        guest.type('echo typed-by-alice')
        assert pairing.pane_shows('typed-by-alice'), pairing.pane()
        joined = pairing.host.run('journalctl -t pairing --no-pager -o cat').stdout
        assert 'pairing: alice joined (rw) from' in joined
    finally:
        guest.close()


def test_read_only_guest_cannot_type_even_through_a_binding_that_lifts_read_only(pairing):
    host = pairing.host
    # The owner binds a key that clears a client's read-only flag, as a guest would love.
    host.run('runuser -u dev -- tmux -S %s bind-key -T prefix F12 switch-client -r' % SOCKET)
    watcher = pairing.terminal('carol-watches', 'carol')
    try:
        # Control: a tmux-ro client attached straight to tmux (no watcher) lifts its flag with F12,
        # although the account has `server-access -r`: tmux alone is no boundary.
        host.run("tmux -L control new-session -d -x 80 -y 24 "
                 "'runuser -u tmux-ro -- tmux -S %s attach -r -t =pairing'; sleep 1; "
                 "tmux -L control send-keys C-b F12; sleep 0.5; "
                 "tmux -L control send-keys -l 'echo control-lifted'; tmux -L control send-keys Enter; sleep 0.5; "
                 "tmux -L control kill-server" % SOCKET)
        assert pairing.pane_shows('control-lifted'), pairing.pane()

        assert watcher.wait_for('control-lifted'), watcher.screen()
        watcher.type('echo typed-by-carol')
        for key in ('F12', '(', ')', 'L', ':'):
            watcher.keys('C-b', key)
            watcher.type('echo carol-after-%s' % key)
        # The owner types last: once that shows, carol's earlier keys have had their chance.
        host.run('runuser -u dev -- tmux -S %s send-keys -t =pairing:pairing "echo owner-typed" Enter' % SOCKET)
        assert pairing.pane_shows('owner-typed'), pairing.pane()
        assert 'carol' not in pairing.pane()
        client_format = '#{client_user} #{client_readonly} #{client_width}x#{client_height}'
        clients = host.run('tmux -S %s list-clients -F "%s"' % (SOCKET, client_format)).stdout.split('\n')
        assert 'tmux-ro 1 160x45' in clients  # still read-only; the watcher passed on the window size
        assert 'pairing: carol joined (ro)' in host.run('journalctl -t pairing -o cat --no-pager').stdout

        watcher.keys('q')
        assert watcher.wait_for('[ssh exited 0]'), watcher.screen()
        assert 'tmux-ro' not in host.run('tmux -S %s list-clients -F "#{client_user}"' % SOCKET).stdout
    finally:
        watcher.close()
        host.run('runuser -u dev -- tmux -S %s unbind-key -T prefix F12' % SOCKET)


def test_a_remote_command_runs_only_the_wrapper(pairing):
    result = pairing.ssh('alice', command=['id; touch /tmp/pwned'])
    assert 'uid=' not in result.stdout
    assert 'pairing: ignoring the command you asked for' in result.stderr
    assert pairing.host.run('test -e /tmp/pwned', check=False).returncode == 1


def test_no_tty_is_refused(pairing):
    result = pairing.ssh('alice', '-o', 'RequestTTY=no')
    assert result.returncode != 0
    assert 'pairing: no terminal' in result.stderr


def test_local_forwarding_connects_nowhere(pairing):
    port = free_port()
    tunnel = subprocess.Popen(ssh_argv(pairing.keys, 'alice', pairing.host.address, 22, '-N', '-L',
                                       '%d:127.0.0.1:22' % port), stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(1.5)
        assert banner(port) == ''  # sshd refuses the channel: no SSH banner comes through
    finally:
        tunnel.kill()
        tunnel.wait(10)


def test_remote_forwarding_is_refused(pairing):
    result = pairing.ssh('alice', '-N', '-o', 'ExitOnForwardFailure=yes', '-R', '127.0.0.1:47000:127.0.0.1:22',
                         timeout=30)
    assert result.returncode != 0
    assert 'remote port forwarding failed' in result.stderr
    assert '47000' not in pairing.host.run('ss -ltn').stdout


def test_dynamic_forwarding_connects_nowhere(pairing):
    port = free_port()
    tunnel = subprocess.Popen(ssh_argv(pairing.keys, 'alice', pairing.host.address, 22, '-N', '-D', str(port)),
                              stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(1.5)
        with socket.create_connection(('127.0.0.1', port), timeout=5) as conn:
            conn.sendall(b'\x05\x01\x00')  # SOCKS5, no authentication
            assert conn.recv(2) == b'\x05\x00'
            conn.sendall(b'\x05\x01\x00\x01' + socket.inet_aton('127.0.0.1') + (22).to_bytes(2, 'big'))
            reply = conn.recv(10)
        assert reply[:2] != b'\x05\x00'  # the proxy could not open the connection
    finally:
        tunnel.kill()
        tunnel.wait(10)


def test_agent_x11_tunnel_and_forwarding_settings_as_sshd_applies_them(pairing):
    effective = pairing.host.run('sshd -T -C user=tmux,host=guest,addr=192.0.2.1').stdout.lower().splitlines()
    for setting in ('disableforwarding yes', 'allowagentforwarding no', 'x11forwarding no', 'permittunnel no',
                    'allowstreamlocalforwarding no', 'permituserrc no', 'exposeauthinfo yes',
                    'authenticationmethods publickey', 'forcecommand /usr/local/libexec/pairing-attach'):
        assert setting in effective, setting
    # A client that asks for X11 and agent forwarding is told no by the server.
    argv = ssh_argv(pairing.keys, 'alice', pairing.host.address, 22, '-X', '-A', '-v')
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False, stdin=subprocess.DEVNULL,
                            env=dict(os.environ, DISPLAY='127.0.0.1:99', SSH_AUTH_SOCK='/nonexistent'))
    assert 'X11 forwarding request failed' in result.stderr, result.stderr[-2000:]


def test_sftp_gets_nothing(pairing):
    result = subprocess.run(['sftp', '-b', '-', *ssh_argv(pairing.keys, 'alice', pairing.host.address)[1:]],
                            input='get /etc/hostname /tmp/should-not-exist\n', capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode != 0
    assert not os.path.exists('/tmp/should-not-exist')


def test_scp_puts_nothing(pairing, tmp_path):
    payload = tmp_path / 'payload'
    payload.write_text('escape')
    argv = ssh_argv(pairing.keys, 'alice', pairing.host.address)
    options, target = argv[1:-1], argv[-1]
    for legacy in ([], ['-O']):
        result = subprocess.run(['scp', *legacy, *options, str(payload), target + ':/tmp/payload'],
                                capture_output=True, text=True, timeout=30, check=False)
        assert result.returncode != 0
    assert pairing.host.run('test -e /tmp/payload', check=False).returncode == 1


def test_a_subsystem_request_runs_only_the_wrapper(pairing):
    before = pairing.host.run('journalctl -t pairing -o cat --no-pager | grep -c "refused: no terminal"',
                              check=False).stdout
    result = pairing.ssh('alice', '-s', command=['sftp'])
    assert (result.returncode, result.stdout) == (1, '')
    after = pairing.host.run('journalctl -t pairing -o cat --no-pager | grep -c "refused: no terminal"',
                             check=False).stdout
    assert int(after) == int(before or 0) + 1


def test_root_login_with_a_guest_key_is_refused(pairing):
    result = pairing.ssh('alice', user='root', command=['id'])
    assert result.returncode == 255
    assert 'Permission denied' in result.stderr


def test_an_unlisted_key_is_refused(pairing):
    result = pairing.ssh('mallory', '-tt')
    assert result.returncode == 255
    assert 'Permission denied' in result.stderr


def test_the_owner_account_keys_and_dotfiles_are_untouched(pairing):
    # After the fixture's run; test_state_absent_removes_everything_the_role_added looks again
    # after every run of this module.
    assert owner_state(pairing.host) == pairing.owner_before


def test_second_run_changes_nothing(pairing):
    run = pairing.converge()
    assert run.returncode == 0
    assert run.changed() == [], run.changed()
    # The files written whole that the first look found as their tasks would write them: no module run.
    assert [run.result(task)['status'] for task, _as_written, _change in WRITTEN_WHOLE.values()] == ['skipped'] * 2


def test_files_written_whole_are_put_back_when_changed_behind_its_back(pairing):
    """The sshd drop-in decides who gets in; the record of the last full run holds the ngrok token's
    digest and what the next run takes as its inputs. Each is changed one way, each way its own
    condition; a changed content is test_fast_path's sshd setting."""
    host = pairing.host
    written = {path: host.run('cat ' + path).stdout for path in WRITTEN_WHOLE}
    for path, (_task, _as_written, change) in WRITTEN_WHOLE.items():
        host.run('%s %s' % (change, path))
    run = pairing.converge()
    assert run.returncode == 0, run.output[-3000:]
    for path, (task, as_written, change) in WRITTEN_WHOLE.items():
        assert run.result(task)['status'] == 'changed', change
        assert host.run("stat -c '%a %U:%G' " + path).stdout == as_written + '\n', change
        assert host.run('cat ' + path).stdout == written[path], change


def test_check_mode_changes_nothing(pairing):
    checksums = 'sha256sum /etc/ssh/pairing/authorized_keys /etc/ssh/sshd_config.d/00-pairing.conf'
    before = pairing.host.run(checksums).stdout
    run = pairing.converge(check=True, pairing_guests=['alice'])
    assert run.returncode == 0, run.output[-3000:]
    assert run.changed() == ["pairing.tmux.host : Guests' keys from GitHub, nobody else's"]
    assert pairing.host.run(checksums).stdout == before


def test_ssh_audit_finds_no_failure(pairing):
    ssh_audit = os.path.join(os.path.dirname(sys.executable), 'ssh-audit')
    result = subprocess.run([ssh_audit, '-n', '-p', '22', pairing.host.address], capture_output=True, text=True,
                            timeout=60, check=False)
    assert '[fail]' not in result.stdout, result.stdout
    assert result.returncode in (0, 2), result.stdout  # 0: good, 2: warnings only (3 would be failures)


def test_a_failing_key_source_fails_closed_naming_the_user(pairing, key_server, keys):
    before = pairing.host.run('sha256sum /etc/ssh/pairing/authorized_keys').stdout
    key_server.set('/bob.keys', 500, 'Internal Server Error')
    try:
        run = pairing.converge()
        assert run.returncode != 0
        (failed,) = [record for record in run.records if record['status'] == 'failed']
        assert failed['result']['msg'].startswith('user bob (')
        assert 'HTTP 500' in failed['result']['msg']
        assert pairing.host.run('sha256sum /etc/ssh/pairing/authorized_keys').stdout == before
        guest = pairing.terminal('alice-still', 'alice')
        try:
            assert guest.wait_for('dev@pair'), guest.screen()
        finally:
            guest.close()
    finally:
        key_server.publish('bob', [keys.public('bob')])


def test_revoking_a_connected_guest_cuts_their_session(pairing):
    guest = pairing.terminal('bob-revoked', 'bob')
    hidden = subprocess.Popen(ssh_argv(pairing.keys, 'bob', pairing.host.address, 22, '-N'), stdin=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        assert guest.wait_for('dev@pair'), guest.screen()
        time.sleep(1)
        assert hidden.poll() is None  # ssh -N stays connected without running the wrapper
        run = pairing.converge(pairing_guests=['alice'])
        assert run.returncode == 0, run.output[-3000:]
        assert guest.wait_for('[ssh exited'), guest.screen()
        hidden.wait(15)
        assert pairing.ssh('bob', '-tt').returncode == 255
    finally:
        guest.close()
        if hidden.poll() is None:
            hidden.kill()
    # bob comes back with the next run: every later test of this module starts with one.


def session_as_tmux_shows_it(host):
    """The session's panes (window, pane, start command), who may attach, and the socket's owner,
    group and mode."""
    panes = host.run("tmux -S %s list-panes -s -t =pairing -F '#{window_index} #{window_name}|#{pane_index}|"
                     "#{pane_start_command}'" % SOCKET).stdout.splitlines()
    access = sorted(host.run('tmux -S %s server-access -l' % SOCKET).stdout.splitlines())
    return panes, access, host.run('stat -c "%%U %%G %%a" %s' % SOCKET).stdout.strip()


def test_a_run_puts_back_what_was_changed_behind_its_back_and_a_reboot_needs_no_run(pairing):
    # The role's windows and one with a further pane, whose command systemd must pass on as it is.
    windows = [{'name': 'pairing'},
               {'name': 'tunnel', 'panes': [{'command': 'watch -t -n 10 systemctl --no-pager --lines 5 status '
                                                        'pairing-tunnel.service'}]},
               {'name': 'split', 'panes': [{'command': 'x=\'50%; $HOME "quoted"\'; echo "pane:$x"; exec sleep 100000'},
                                           {'command': 'sleep 200000', 'split': 'horizontal'}]}]
    host = pairing.host
    # Someone turned the timer that ends expired grants off; looked at the session's unit, then
    # removed the link that starts it at boot by hand (no daemon-reload: systemd still holds the
    # unit as enabled, as it was when looked at, and it runs on); gave the guests' account a shell
    # that reads rc files and the watchers' account a group more; and took the line that loads the
    # drop-in out of sshd_config. The run's first look sees each, and the run puts each back.
    host.run('systemctl disable --now pairing-revoke.timer; systemctl status pairing-tmux.service >/dev/null; '
             'rm /etc/systemd/system/multi-user.target.wants/pairing-tmux.service; '
             'usermod -s /bin/bash tmux; usermod -aG sudo tmux-ro; '
             "sed -i 's|^Include /etc/ssh/sshd_config.d/[*].conf|# &|' /etc/ssh/sshd_config")
    run = pairing.converge(pairing_windows=windows)
    assert run.returncode == 0, run.output[-3000:]
    for task in ("Start the timer that ends guests' connections when their expiry-time passes, with no Ansible run",
                 'Start the session service',
                 'The alias accounts guests log in as (read-write) and watch through (read-only)',
                 'The main sshd_config includes the drop-in directory (nothing else in it is touched)'):
        assert 'pairing.tmux.host : ' + task in run.changed(), run.changed()
    accounts = host.run('getent passwd tmux | cut -d: -f7; id -nG tmux-ro').stdout.split()
    assert accounts == ['/bin/sh', 'tmux-ro', 'pairing'], accounts
    assert host.run("grep -c -x 'Include /etc/ssh/sshd_config.d/[*].conf' /etc/ssh/sshd_config").stdout == '1\n'
    made_by_ansible = session_as_tmux_shows_it(host)
    assert [pane.split('|')[0] for pane in made_by_ansible[0]] == ['0 pairing', '1 tunnel', '2 split', '2 split']
    assert made_by_ansible[2] == 'dev pairing 660'

    host.reboot()
    guest = pairing.terminal('after-reboot', 'alice')
    try:
        assert guest.wait_for('dev@pair', timeout=30), guest.screen()
        guest.type('echo after-reboot')
        assert pairing.pane_shows('after-reboot'), pairing.pane()
    finally:
        guest.close()
    started = host.run('timeout 30 sh -c "until systemctl is-active -q pairing-tmux.service; do sleep 0.2; done"',
                       check=False)
    assert started.returncode == 0, host.run('journalctl -b -u pairing-tmux.service --no-pager', check=False).stdout
    assert host.run('systemctl is-active pairing-revoke.timer', check=False).stdout == 'active\n'
    # Every window and pane, the same grants and the same socket as the run made, with no run since.
    assert session_as_tmux_shows_it(host) == made_by_ansible
    assert shows(lambda: host.run('tmux -S %s capture-pane -p -t =pairing:=split' % SOCKET).stdout,
                 'pane:50%; $HOME "quoted"')


def test_an_owner_without_a_key_keeps_password_logins_alone(pairing):
    def password_login(user):
        settings = pairing.host.run('sshd -T -C user=%s,host=h,addr=192.0.2.1' % user).stdout.splitlines()
        return [line for line in settings if line.startswith('passwordauthentication ')]

    assert password_login('dev') == ['passwordauthentication no']
    pairing.host.run('mv /home/dev/.ssh/authorized_keys /root/dev-keys')
    try:
        run = pairing.converge()
        assert run.returncode == 0, run.output[-3000:]
        assert password_login('dev') == ['passwordauthentication yes']
        assert password_login('tmux') == password_login('someone') == ['passwordauthentication no']
    finally:
        pairing.host.run('mv /root/dev-keys /home/dev/.ssh/authorized_keys')
    pairing.converge()
    assert password_login('dev') == ['passwordauthentication no']


def test_state_absent_removes_everything_the_role_added(pairing):
    run = pairing.converge(pairing_state='absent')
    assert run.returncode == 0, run.output[-3000:]
    left = pairing.host.run('ls -d /etc/ssh/sshd_config.d/00-pairing.conf /etc/systemd/system/pairing-*.service '
                            '/etc/sudoers.d/pairing /etc/tmpfiles.d/pairing.conf /usr/local/libexec/pairing-* '
                            '/etc/ssh/pairing /run/pairing /var/lib/pairing 2>/dev/null', check=False).stdout
    assert left == ''
    assert pairing.host.run('getent passwd tmux tmux-ro; getent group pairing', check=False).stdout == ''
    assert pairing.host.run('systemctl is-active pairing-tmux.service', check=False).stdout.strip() == 'inactive'
    assert pairing.ssh('alice', '-tt').returncode == 255
    assert pairing.host.run('sshd -t && systemctl is-active ssh').stdout.strip() == 'active'
    assert owner_state(pairing.host) == pairing.owner_before
    assert pairing.converge(pairing_state='absent').changed() == []
