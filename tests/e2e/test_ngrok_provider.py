"""Tunnel provider ngrok, end to end: the host role installs the agent from a supplied binary
(tests/ngrok/fake_ngrok.py, a local double of the agent: ngrok's cloud is unreachable from the
test machines), and a guest connects through the double's public address and lands in tmux."""

import os

import pytest
from ansible_run import ROOT, run_playbook
from pairing_env import Terminal, make_pairing, only_guests_get_through, strangers_are_held, strangers_fail

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason='test hosts need root'),
              pytest.mark.parametrize('testhosts', [('tunnelled',)], indirect=True)]

DOUBLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'ngrok', 'fake_ngrok.py')


@pytest.fixture(scope='module')
def pairing(testhosts, key_server, keys, tmp_path_factory):
    agent = tmp_path_factory.mktemp('agent') / 'ngrok'
    with open(DOUBLE) as handle:
        agent.write_text('#!/usr/bin/python3\n' + handle.read())
    pairing = make_pairing(testhosts, key_server, keys, 'tunnelled', pairing_ngrok_install='binary',
                           pairing_ngrok_binary=str(agent), pairing_ngrok_authtoken='token-one')
    run = pairing.converge()
    assert run.returncode == 0, run.output[-4000:]
    pairing.first_run = run
    yield pairing
    Terminal.close_all()


def address(run):
    result = run.result('pairing.tmux.host : The tunnel to sshd')['result']
    assert result['ssh_command'] == 'ssh -t -p %d tmux@%s' % (result['port'], result['host'])
    return result['host'], result['port']


def test_the_token_alone_chooses_ngrok_and_a_guest_lands_through_it(pairing):
    host, port = address(pairing.first_run)
    assert host == pairing.host.address and port != 22
    guest = pairing.terminal('via-ngrok', 'alice', address=host, port=port)
    try:
        assert guest.wait_for('dev@tunnelled'), guest.screen()
        guest.type('echo through-ngrok')
        assert pairing.pane_shows('through-ngrok'), pairing.pane()
    finally:
        guest.close()


def test_status_leaves_the_agent_as_it_is(pairing):
    state = 'sha256sum /etc/ngrok/pairing.yml; systemctl show -p MainPID --value pairing-ngrok'
    before = pairing.host.run(state).stdout
    run = run_playbook(os.path.join(ROOT, 'playbooks', 'status.yml'), pairing.host.harness.inventory(['tunnelled']),
                       {**pairing.vars, 'target': 'tunnelled'})
    assert run.returncode == 0, run.output[-3000:]
    assert pairing.host.run(state).stdout == before


def test_only_guests_get_through_ngrok(pairing):
    only_guests_get_through(pairing, *address(pairing.first_run))


def test_strangers_failing_through_ngrok_do_not_shut_guests_out(pairing, strangers):
    host, port = address(pairing.first_run)
    strangers_fail(host, port, strangers)
    assert pairing.lands('after-strangers', 'alice', address=host, port=port) is True
    strangers_are_held(host, port, strangers)
    assert pairing.lands('after-held', 'alice', address=host, port=port) is True


def test_a_full_verbose_run_never_shows_the_token(pairing):
    run = pairing.converge(options=['-vvv'])
    assert run.returncode == 0
    assert run.changed() == [], run.changed()
    assert 'token-one' not in run.output
    # The verbose output is really there (modules travel through ssh's stdin: pipelining).
    assert 'ESTABLISH SSH CONNECTION' in run.output and 'pairing.tmux.host : The tunnel to sshd' in run.output


def test_a_new_token_gives_a_new_agent_and_the_new_address(pairing):
    before = pairing.host.run('systemctl show -p MainPID --value pairing-ngrok').stdout
    run = pairing.converge(pairing_ngrok_authtoken='token-two')
    assert run.returncode == 0
    assert 'pairing.tmux.host : The tunnel to sshd' in run.changed()
    assert pairing.host.run('systemctl show -p MainPID --value pairing-ngrok').stdout != before
    host, port = address(run)
    guest = pairing.terminal('via-new-ngrok', 'alice', address=host, port=port)
    try:
        assert guest.wait_for('dev@tunnelled'), guest.screen()
    finally:
        guest.close()


def test_no_token_fails_before_anything_changes(pairing):
    before = pairing.host.run('sha256sum /etc/ngrok/pairing.yml /etc/ssh/pairing/authorized_keys').stdout
    run = pairing.converge(pairing_tunnel='ngrok', pairing_ngrok_authtoken='')
    assert run.returncode != 0
    (failed,) = [record for record in run.records if record['status'] == 'failed']
    assert failed['result']['msg'].startswith('pairing_tunnel is ngrok but there is no authtoken: set NGROK_AUTHTOKEN')
    assert pairing.host.run('sha256sum /etc/ngrok/pairing.yml /etc/ssh/pairing/authorized_keys').stdout == before
