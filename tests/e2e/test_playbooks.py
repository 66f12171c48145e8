"""The user stories: pair, status, unpair on one workstation; team on two workstations and a relay."""

import os

import pytest
from ansible_run import ROOT, run_playbook
from pairing_env import RELAY_PLAY, Terminal, make_pairing, wait_for_listener

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason='test hosts need root'),
              pytest.mark.parametrize('testhosts', [('ws1', 'ws2', 'hub')], indirect=True)]

PLAYBOOKS = os.path.join(ROOT, 'playbooks')
KEYS = 'sha256sum /etc/ssh/pairing/authorized_keys'


@pytest.fixture(scope='module')
def env(testhosts, key_server, keys, tmp_path_factory):
    home = str(tmp_path_factory.mktemp('controller-home'))
    pairings = {name: make_pairing(testhosts, key_server, keys, name) for name in ('ws1', 'ws2')}
    yield {'hosts': testhosts, 'pairings': pairings, 'home': home, 'server': key_server, 'keys': keys}
    Terminal.close_all()


def play(env, playbook, check=False, diff=False, inventory=None, **extra):
    base = {'pairing_owner': 'dev', 'pairing_github_url': env['server'].url, 'pairing_allow_http': True}
    hosts = env['hosts']
    path = playbook if '\n' in playbook else os.path.join(PLAYBOOKS, playbook + '.yml')
    return run_playbook(path, inventory or hosts['ws1'].harness.inventory(list(hosts)), {**base, **extra},
                        check=check, diff=diff, env={'HOME': env['home']})


def messages(run, task):
    return [line for record in run.results(task) for line in record['result'].get('msg', [])]


def test_pair_status_unpair_with_real_guests(env):
    ws1 = env['pairings']['ws1']
    run = play(env, 'pair', target='ws1', pair='alice', read_only='carol')
    assert run.returncode == 0, run.output[-3000:]
    info = messages(run, 'pairing.tmux.host : How to pair')
    assert info[0] == 'Guests connect with:  ssh -t tmux@%s' % ws1.host.address
    assert info[1].startswith('Host key they see:    256 SHA256:') and info[1].endswith('(ED25519)')
    bits, fingerprint, _comment, kind = ws1.host.run('ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub').stdout.split()
    assert info[1] == 'Host key they see:    %s %s %s' % (bits, fingerprint, kind)
    assert info[2] == 'Who may join:         alice (rw), carol (ro)'  # from the keys task, no second read
    # Test hosts have private addresses: only their network reaches them, and the block says so.
    assert info[-1].startswith('Only a private network (RFC 1918) can reach %s. ' % ws1.host.address)
    with open(os.path.join(env['home'], '.pairing', 'ssh-command')) as handle:
        assert handle.read() == 'ws1: ssh -t tmux@%s\n' % ws1.host.address
    assert play(env, 'pair', target='ws1', pair='alice', read_only='carol').changed() == []

    alice, carol = ws1.terminal('ws1-alice', 'alice'), ws1.terminal('ws1-carol', 'carol')
    try:
        assert alice.wait_for('dev@ws1') and carol.wait_for('dev@ws1')
        run = play(env, 'status', target='ws1')
        assert run.changed() == []
        lines = messages(run, 'pairing.tmux.host : Who is connected')
        assert lines[0] == 'Tunnel: none (guests connect directly)'
        assert 'Who may join:         alice (rw), carol (ro)' in messages(run, 'pairing.tmux.host : How to pair')
        # The address a run on the box itself (a local connection) shows guests, as the first look found it.
        (look,) = [record for record in run.records if record['task'].startswith('pairing.tmux.host : Look at')]
        assert 'address=%s' % ws1.host.address in look['result']['stdout_lines']
        connected = sorted(line.split(' since ')[0] for line in lines[1:])
        assert connected == ['Connected: alice (rw)', 'Connected: carol (ro)']

        before = ws1.host.run(KEYS).stdout
        run = play(env, 'pair', target='ws1', pair='bob', check=True, diff=True)
        assert run.returncode == 0 and ws1.host.run(KEYS).stdout == before
        assert '+restrict,pty,command="/usr/local/libexec/pairing-attach"' in run.output

        run = play(env, 'unpair', target='ws1', pair='alice')
        assert run.returncode == 0, run.output[-3000:]
        assert alice.wait_for('[ssh exited'), alice.screen()
        assert ws1.ssh('alice', '-tt').returncode == 255
        assert 'dev@ws1' in carol.screen() and '[ssh exited' not in carol.screen()
        assert play(env, 'unpair', target='ws1', pair='alice').changed() == []

        run = play(env, 'unpair', target='ws1', pair='all')
        assert carol.wait_for('[ssh exited'), carol.screen()
        assert 'pairing.tmux:' not in ws1.host.run('cat /etc/ssh/pairing/authorized_keys').stdout
    finally:
        alice.close()
        carol.close()


TEAM_WITH_RELAY = """
- name: Team
  ansible.builtin.import_playbook: %s/team.yml
""" % PLAYBOOKS + RELAY_PLAY % {'host': 'ws1', 'relay': 'hub'}


def team_inventory(env, team):
    hosts = env['hosts']
    inventory = hosts['ws1'].harness.inventory(list(hosts))
    members = {
        'ws1': {'pairing_owner_github': 'alice', 'pairing_tunnel': 'ssh', 'pairing_relay_host': hosts['hub'].address},
        'ws2': {'pairing_owner_github': 'bob'},
    }
    inventory['all']['children'] = {'pairing_workstations': {
        'hosts': {name: dict(inventory['all']['hosts'][name], **extra) for name, extra in members.items()},
        'vars': {'pairing_team': team}}}
    return inventory


def test_team_on_two_workstations_and_a_relay_revokes_a_removed_member_everywhere(env):
    hub = env['hosts']['hub']
    run = play(env, TEAM_WITH_RELAY, inventory=team_inventory(env, ['alice', 'bob', 'carol']))
    assert run.returncode == 0, run.output[-3000:]
    assert play(env, TEAM_WITH_RELAY, inventory=team_inventory(env, ['alice', 'bob', 'carol'])).changed() == []
    ws1, ws2 = env['pairings']['ws1'], env['pairings']['ws2']
    # Owners are not their own guests: alice (ws1's owner) may not log in to ws1.
    assert ws1.ssh('alice', '-tt').returncode == 255
    wait_for_listener(hub, 2222)
    carol_ws1 = ws1.terminal('team-carol-ws1', 'carol', address=hub.address, port=2222)
    carol_ws2 = ws2.terminal('team-carol-ws2', 'carol')
    try:
        assert carol_ws1.wait_for('dev@ws1', timeout=60), carol_ws1.screen()
        assert carol_ws2.wait_for('dev@ws2'), carol_ws2.screen()

        run = play(env, TEAM_WITH_RELAY, inventory=team_inventory(env, ['alice', 'bob']))
        assert run.returncode == 0, run.output[-3000:]
        assert carol_ws1.wait_for('[ssh exited') and carol_ws2.wait_for('[ssh exited')
        assert ws2.ssh('carol', '-tt').returncode == 255
        assert ws1.ssh('carol', '-tt', address=hub.address, port=2222).returncode == 255
        bob = ws1.terminal('team-bob-ws1', 'bob', address=hub.address, port=2222)
        assert bob.wait_for('dev@ws1'), bob.screen()
        bob.close()
    finally:
        carol_ws1.close()
        carol_ws2.close()
