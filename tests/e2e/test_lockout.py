"""No sshd change locks anyone out, whatever the host's own sshd configuration says: the role
tests the whole configuration before it changes a file, keeps the owner's and Ansible's way in,
and puts sshd's files back when sshd does not take the new ones."""

import base64
import os

import pytest
from pairing_env import Terminal, login_as, make_pairing, snapshot

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason='test hosts need root'),
              pytest.mark.parametrize('testhosts', [('locks',)], indirect=True)]

SSHD_FILES = 'sha256sum /etc/ssh/sshd_config; ls /etc/ssh/sshd_config.d; cat /etc/ssh/sshd_config.d/* 2>/dev/null; true'


@pytest.fixture(scope='module')
def pairing(testhosts, key_server, keys):
    pairing = make_pairing(testhosts, key_server, keys, 'locks')
    pairing.host.run('cp /etc/ssh/sshd_config /root/sshd_config.debian')
    yield pairing
    Terminal.close_all()


@pytest.fixture
def main_config(pairing):
    """The host's own main sshd_config, changed by the test, Debian's again afterwards."""
    yield lambda script: pairing.host.run(script + ' && sshd -t')
    pairing.host.run('cp /root/sshd_config.debian /etc/ssh/sshd_config')


def logs_in(pairing, user):
    return login_as(pairing.host, user).returncode == 0


def the_failure(run):
    """The message the run stopped with (a rescued task fails before it)."""
    failed = [record for record in run.records if record['status'] == 'failed']
    assert failed, run.output[-3000:]
    result = failed[-1]['result']
    items = [item['msg'] for item in result.get('results', []) if item.get('failed')]
    return items[0] if items else result['msg']


def effective(pairing, user, setting, addr='192.0.2.1'):
    settings = pairing.host.run('sshd -T -C user=%s,host=h,addr=%s' % (user, addr)).stdout.splitlines()
    return [line.split(' ', 1)[1] for line in settings if line.startswith(setting + ' ')]


BARE = 'getent passwd tmux; ls /etc/ssh/pairing /etc/ssh/sshd_config.d/00-pairing.conf /usr/local/libexec/pairing-*'


def test_a_guest_name_with_a_typo_changes_nothing_on_a_bare_host(pairing):
    before, files_before = pairing.host.run(SSHD_FILES).stdout, snapshot(pairing.host)
    run = pairing.converge(pairing_guests=['alice', 'alcie'])
    assert run.returncode != 0
    message = the_failure(run)
    assert message.startswith('user alcie (') and 'not found (HTTP 404)' in message, message
    assert message.endswith('nothing was changed') and '\n' not in message, message
    assert pairing.host.run(BARE, check=False).stdout == ''
    assert pairing.host.run(SSHD_FILES).stdout == before
    assert snapshot(pairing.host) == files_before


def test_ngrok_without_a_token_is_refused_on_a_bare_host(pairing):
    before = snapshot(pairing.host)
    run = pairing.converge(pairing_tunnel='ngrok', pairing_ngrok_authtoken='')
    assert run.returncode != 0
    message = the_failure(run)
    assert message.startswith('pairing_tunnel is ngrok but there is no authtoken, and locks has no ngrok'), message
    assert message.endswith('nothing was changed'), message
    assert snapshot(pairing.host) == before


def test_a_main_config_the_drop_in_would_break_is_refused_on_a_bare_host(pairing, main_config):
    main_config("sed -i 's/^KbdInteractiveAuthentication no/KbdInteractiveAuthentication yes/' /etc/ssh/sshd_config"
                " && echo 'AuthenticationMethods publickey,keyboard-interactive' >> /etc/ssh/sshd_config")
    before = pairing.host.run(SSHD_FILES).stdout
    run = pairing.converge()
    assert run.returncode != 0
    message = the_failure(run)
    assert message.startswith("sshd on locks would not take its configuration with pairing.tmux's drop-in: "), message
    assert 'AuthenticationMethods' in message and message.endswith('nothing was changed') and '\n' not in message
    assert pairing.host.run(SSHD_FILES).stdout == before
    assert pairing.host.run(BARE, check=False).stdout == ''


def test_a_match_block_whose_methods_the_drop_in_would_turn_off_is_refused(pairing, main_config):
    main_config("printf 'Match User dev\\n    AuthenticationMethods publickey,password\\n' >> /etc/ssh/sshd_config")
    before = pairing.host.run(SSHD_FILES).stdout
    run = pairing.converge()
    assert run.returncode != 0
    message = the_failure(run)
    says = 'sshd would refuse dev from 127.0.0.1 (AuthenticationMethods publickey,password with a method off)'
    assert says in message, message
    assert message.endswith('nothing was changed') and '\n' not in message, message
    assert pairing.host.run(SSHD_FILES).stdout == before


def test_match_blocks_of_the_host_s_own_keep_their_say_and_the_owner_gets_in_after_a_reboot(pairing, main_config):
    main_config("printf 'Match User dev\\n    X11Forwarding no\\nMatch Address 192.0.2.0/24\\n"
                "    PasswordAuthentication yes\\n' >> /etc/ssh/sshd_config")
    run = pairing.converge()
    assert run.returncode == 0, run.output[-3000:]
    pairing.host.reboot()
    assert logs_in(pairing, 'dev') and logs_in(pairing, 'root')
    assert effective(pairing, 'dev', 'x11forwarding') == ['no']
    assert effective(pairing, 'dev', 'passwordauthentication', addr='192.0.2.7') == ['yes']
    assert effective(pairing, 'dev', 'passwordauthentication', addr='198.51.100.7') == ['no']
    assert pairing.lands('after-reboot', 'alice') is True


def test_ansible_logging_in_as_root_keeps_its_way_in(pairing):
    assert effective(pairing, 'root', 'permitrootlogin') == ['without-password']
    assert effective(pairing, 'dev', 'permitrootlogin') == ['without-password']
    assert logs_in(pairing, 'root')  # and every converge below logs in as root


def test_a_key_restricted_to_one_command_is_no_way_in_for_the_owner(pairing):
    keys = '/home/dev/.ssh/authorized_keys'
    pairing.host.run('cp %s /root/dev-keys && sed -i "s|^|command=\\"/usr/bin/uptime\\" |" %s' % (keys, keys))
    try:
        run = pairing.converge()
        assert run.returncode == 0, run.output[-3000:]
        assert 'dev has no SSH key on locks that opens an interactive login' in run.output
        assert effective(pairing, 'dev', 'passwordauthentication') == ['yes']
        assert effective(pairing, 'tmux', 'passwordauthentication') == ['no']
    finally:
        pairing.host.run('cp /root/dev-keys %s' % keys)


def test_lines_a_login_shell_prints_mislead_neither_the_look_nor_the_guard(pairing):
    """raw keeps what the login shell prints before the command runs: here root's .bashrc says
    that the owner does not exist and that dev has no key, in the look's and the guard's own
    shapes. The run must read the scripts' own lines only: dev keeps its key and loses passwords."""
    fake = base64.b64encode(b'passwords on\n').decode()
    pairing.host.run("cp /root/.bashrc /root/bashrc.kept && "
                     "sed -i '1i echo owner=no; echo keeper dev %s; echo Welcome to locks' /root/.bashrc" % fake)
    try:
        assert 'Welcome to locks' in pairing.host.run('true').stdout  # every command's output starts so
        run = pairing.converge()
        assert run.returncode == 0, run.output[-3000:]
        assert 'dev has no SSH key' not in run.output
        assert effective(pairing, 'dev', 'passwordauthentication') == ['no']
    finally:
        pairing.host.run('mv /root/bashrc.kept /root/.bashrc')


@pytest.mark.parametrize('settings, owner, says', [
    ({'PermitRootLogin': 'no'}, 'dev', 'root on locks is the account Ansible logs in as and would lose its way in'),
    # No owner given: the account that ran the play, as the run's first look finds it (root here).
    ({'PermitRootLogin': 'no'}, None, 'root on locks is the owner and would lose its way in'),
    ({'MaxAuthTries': 3}, 'dev', 'pairing_sshd_settings sets MaxAuthTries 3: a guest (or you) whose ssh offers'),
])
def test_settings_that_would_lock_someone_out_are_refused(pairing, settings, owner, says):
    before = pairing.host.run(SSHD_FILES).stdout
    given = pairing.vars.pop('pairing_owner')
    try:
        run = pairing.converge(pairing_sshd_settings=settings, **({'pairing_owner': owner} if owner else {}))
    finally:
        pairing.vars['pairing_owner'] = given
    assert run.returncode != 0
    message = the_failure(run)
    assert message.startswith(says) and '\n' not in message, message
    assert pairing.host.run(SSHD_FILES).stdout == before


def test_sshd_s_files_come_back_when_sshd_does_not_take_the_new_ones(pairing):
    host = pairing.host
    host.run("mkdir -p /etc/systemd/system/ssh.service.d && printf '[Service]\\nExecReload=\\nExecReload=/bin/false\\n'"
             ' > /etc/systemd/system/ssh.service.d/fail-reload.conf && systemctl daemon-reload')
    before = host.run(SSHD_FILES).stdout
    try:
        run = pairing.converge(pairing_sshd_settings={'LoginGraceTime': 25})
        assert run.returncode != 0
        message = the_failure(run)
        assert message.startswith('sshd on locks did not take the new configuration'), message
        assert message.endswith('the previous files are back and sshd runs as before'), message
        assert host.run(SSHD_FILES).stdout == before
    finally:
        host.run('rm -r /etc/systemd/system/ssh.service.d && systemctl daemon-reload')
    assert logs_in(pairing, 'dev') and logs_in(pairing, 'root')


@pytest.mark.parametrize('overrides, says', [
    ({'pairing_socket': '/run/x.sock'}, 'pairing_socket puts its directory at /run, which holds '),
    ({'pairing_keys_file': '/etc/ssh/authorized_keys'},
     'pairing_keys_file puts its directory at /etc/ssh, which holds '),
])
def test_a_socket_or_keys_file_in_a_shared_directory_is_refused(pairing, overrides, says):
    state = SSHD_FILES + '; stat -c "%n %U %G %a" /run /etc/ssh'
    before = pairing.host.run(state).stdout
    run = pairing.converge(**overrides)
    assert run.returncode != 0
    message = the_failure(run)
    assert message.startswith(says) and message.endswith('nothing was changed') and '\n' not in message, message
    assert pairing.host.run(state).stdout == before
