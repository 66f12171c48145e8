"""Guest -> relay -> reverse tunnel -> pairing host -> tmux, all real (tunnel provider `ssh`)."""

import os

import pytest
from pairing_env import Terminal, make_pairing, wait_for_listener

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason='test hosts need root'),
              pytest.mark.parametrize('testhosts', [('gw', 'relay')], indirect=True)]

PORT = 2222


@pytest.fixture(scope='module')
def pairing(testhosts, key_server, keys):
    relay = testhosts['relay']
    pairing = make_pairing(testhosts, key_server, keys, 'gw', pairing_tunnel='ssh',
                           pairing_relay_host=relay.address, pairing_relay_port=PORT)
    run = pairing.converge(relay=True)
    assert run.returncode == 0, run.output[-4000:]
    wait_for_listener(relay, PORT)
    yield pairing
    Terminal.close_all()


def test_a_guest_lands_through_the_relay(pairing, testhosts):
    guest = pairing.terminal('via-relay', 'alice', address=testhosts['relay'].address, port=PORT)
    try:
        assert guest.wait_for('dev@gw'), guest.screen()
        guest.type('echo via-the-relay')
        assert pairing.pane_shows('via-the-relay'), pairing.pane()
    finally:
        guest.close()


def test_the_relay_listens_on_its_one_port_only(pairing, testhosts):
    relay = testhosts['relay']
    assert relay.run('grep -c . /etc/ssh/pairing-relay/authorized_keys').stdout.strip() == '1'
    # The tunnel key, used by hand: no shell, and no other port.
    key = '/etc/pairing/tunnel_ed25519'
    base = ('ssh -i %s -o BatchMode=yes -o UserKnownHostsFile=/etc/pairing/relay_known_hosts '
            '-o StrictHostKeyChecking=yes' % key)
    shell = pairing.host.run('%s pairing-relay@%s id' % (base, relay.address), check=False)
    assert 'uid=' not in shell.stdout
    other = pairing.host.run('timeout 20 %s -N -o ExitOnForwardFailure=yes -R 0.0.0.0:2299:localhost:22 '
                             'pairing-relay@%s' % (base, relay.address), check=False)
    assert other.returncode != 0
    assert 'remote port forwarding failed' in other.stderr


def test_second_run_changes_nothing(pairing):
    run = pairing.converge(relay=True)
    assert run.returncode == 0
    assert run.changed() == [], run.changed()


def test_a_reboot_brings_the_tunnel_back_without_ansible(pairing, testhosts):
    relay = testhosts['relay']
    pairing.host.reboot()
    wait_for_listener(relay, PORT)
    guest = pairing.terminal('relay-after-reboot', 'alice', address=relay.address, port=PORT)
    try:
        assert guest.wait_for('dev@gw', timeout=30), guest.screen()
    finally:
        guest.close()
