"""Tunnel provider ngrok, end to end: the host role installs the agent from a supplied binary
(tests/ngrok/fake_ngrok.py, a local double of the agent: ngrok's cloud is unreachable from the
test machines), and a guest connects through the double's public address and lands in tmux."""

import os

import pytest
from ansible_run import ROOT, run_playbook
from pairing_env import Terminal, make_pairing, only_guests_get_through, snapshot, strangers_are_held, strangers_fail

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
    pairing.last_run = run  # the run whose agent is the current one
    yield pairing
    Terminal.close_all()


def address(run):
    # The guests-only path's own task is skipped in a whole-role run, which asks later (ngrok.yml).
    (result,) = [record['result'] for record in run.results('pairing.tmux.host : The tunnel to sshd')
                 if record['status'] != 'skipped']
    assert result['ssh_command'] == 'ssh -t -p %d tmux@%s' % (result['port'], result['host'])
    return result['host'], result['port']


def test_the_token_alone_chooses_ngrok_and_a_guest_lands_through_it(pairing):
    host, port = address(pairing.last_run)
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
    only_guests_get_through(pairing, *address(pairing.last_run))


def test_strangers_failing_through_ngrok_do_not_shut_guests_out(pairing, strangers):
    host, port = address(pairing.last_run)
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
    changed = run.changed()
    assert any(task.startswith("pairing.tmux.host : The agent's configuration") for task in changed), changed
    assert pairing.host.run('systemctl show -p MainPID --value pairing-ngrok').stdout != before
    host, port = address(run)
    pairing.last_run = run
    guest = pairing.terminal('via-new-ngrok', 'alice', address=host, port=port)
    try:
        assert guest.wait_for('dev@tunnelled'), guest.screen()
    finally:
        guest.close()


AGENT = 'sha256sum /etc/ngrok/pairing.yml; systemctl show -p MainPID -p ActiveState pairing-ngrok'


def playbook(pairing, name, check=False, **extra):
    run = run_playbook(os.path.join(ROOT, 'playbooks', name + '.yml'), pairing.host.harness.inventory(['tunnelled']),
                       {**pairing.vars, 'target': 'tunnelled', **extra}, check=check)
    assert run.returncode == 0, run.output[-3000:]
    return run


def test_a_pair_run_without_the_token_keeps_the_tunnel_and_the_guests_in_it(pairing):
    host, port = address(pairing.last_run)
    guest = pairing.terminal('stays', 'alice', address=host, port=port)
    try:
        assert guest.wait_for('dev@tunnelled'), guest.screen()
        agent = pairing.host.run(AGENT).stdout
        run = playbook(pairing, 'pair', pair='bob', pairing_ngrok_authtoken='')
        assert pairing.host.run(AGENT).stdout == agent
        info = [line for record in run.results('pairing.tmux.host : How to pair') for line in record['result']['msg']]
        assert info[0] == 'Guests connect with:  ssh -t -p %d tmux@%s' % (port, host)
        guest.type('echo still-through-ngrok')
        assert pairing.pane_shows('still-through-ngrok'), pairing.pane()
    finally:
        guest.close()


def test_status_after_unpair_tunnel_down_leaves_the_tunnel_down_and_every_file_as_it_was(pairing):
    playbook(pairing, 'unpair', pair='bob', tunnel='down')
    assert pairing.host.run('systemctl is-active pairing-ngrok', check=False).stdout.strip() == 'inactive'
    before = snapshot(pairing.host)
    reports = []
    for check in (False, True):
        run = playbook(pairing, 'status', check=check, pairing_ngrok_authtoken='')
        assert run.changed() == []
        reports.append([record['result'].get('msg') for record in run.results('pairing.tmux.host : Who is connected')])
        assert pairing.host.run('systemctl is-active pairing-ngrok', check=False).stdout.strip() == 'inactive'
        assert snapshot(pairing.host) == before
    assert reports[0] == reports[1] and 'Tunnel: ngrok, inactive' in reports[0][0], reports
