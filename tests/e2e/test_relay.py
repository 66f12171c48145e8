"""Guest -> relay -> reverse tunnel -> pairing host -> tmux, all real (tunnel provider `ssh`)."""

import os
import subprocess
import time

import pytest
from ansible_run import run_playbook
from pairing_env import (
    Terminal,
    make_pairing,
    only_guests_get_through,
    strangers_are_held,
    strangers_fail,
    wait_for_listener,
)

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


def test_only_guests_get_through_the_relay(pairing, testhosts):
    only_guests_get_through(pairing, testhosts['relay'].address, PORT)


def test_strangers_failing_through_the_relay_do_not_shut_guests_out(pairing, testhosts, strangers):
    relay = testhosts['relay'].address
    lan = pairing.host.run('sshd -T | grep ^persourcepenalties', check=False).stdout
    tunnel = pairing.host.run('sshd -T -f /etc/pairing/sshd_tunnel.conf | grep ^persourcepenalties', check=False).stdout
    if lan:  # OpenSSH >= 9.8: port 22 keeps its penalties, the tunnel's sshd alone has none
        assert lan != 'persourcepenalties no\n' and tunnel == 'persourcepenalties no\n', (lan, tunnel)
    strangers_fail(relay, PORT, strangers)
    assert pairing.lands('after-strangers', 'alice', address=relay, port=PORT) is True
    strangers_are_held(relay, PORT, strangers)
    assert pairing.lands('after-held', 'alice', address=relay, port=PORT) is True


def test_a_guest_whose_client_offers_other_keys_first_gets_in(pairing, testhosts, strangers):
    first = [strangers.private(name) for name in strangers.names[:5]]
    for where in ({}, {'address': testhosts['relay'].address, 'port': PORT}):
        assert pairing.lands('keys-first', 'alice', offered_first=first, **where) is True, where


def test_second_run_changes_nothing(pairing):
    run = pairing.converge(relay=True)
    assert run.returncode == 0, run.output[-3000:]
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


def lands_within(pairing, relay, seconds):
    """Seconds until a guest lands through the relay, trying again until ``seconds`` have passed."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if pairing.lands('relay-path', 'alice', timeout=10, address=relay.address, port=PORT) is True:
            return time.monotonic() - start
        time.sleep(1)
    raise AssertionError('no guest got through the relay within %d s' % seconds)


def test_the_relay_converges_with_no_tunnel_keys_then_with_them(pairing, testhosts):
    relay = testhosts['relay']
    play = '- hosts: relay\n  gather_facts: false\n  roles: [pairing.tmux.relay]\n'
    inventory = relay.harness.inventory(['relay'])
    bare = run_playbook(play, inventory, {})
    assert bare.returncode == 0, bare.output[-3000:]
    assert relay.run('grep -c . /etc/ssh/pairing-relay/authorized_keys', check=False).stdout.strip() == '0'
    keyed = pairing.converge(relay=True)
    assert keyed.returncode == 0, keyed.output[-3000:]
    assert relay.run('grep -c . /etc/ssh/pairing-relay/authorized_keys').stdout.strip() == '1'
    lands_within(pairing, relay, 60)


def test_a_guest_connected_through_the_relay_is_cut_off_when_revoked(pairing, testhosts):
    guest = pairing.terminal('revoked-via-relay', 'bob', address=testhosts['relay'].address, port=PORT)
    try:
        assert guest.wait_for('dev@gw', timeout=30), guest.screen()
        run = pairing.converge(pairing_guests=['alice'])
        assert run.returncode == 0, run.output[-3000:]
        assert guest.wait_for('[ssh exited', timeout=20), guest.screen()
    finally:
        guest.close()


def readdress(netns, old, new):
    """The test host's eth0 from address ``old`` to ``new`` (same /24), its default route kept."""
    gateway = old.rsplit('.', 1)[0] + '.1'
    for command in (['sysctl', '-qw', 'net.ipv4.conf.eth0.promote_secondaries=1'],
                    ['ip', 'addr', 'add', new + '/24', 'dev', 'eth0'],
                    ['ip', 'addr', 'del', old + '/24', 'dev', 'eth0'],
                    ['ip', 'route', 'replace', 'default', 'via', gateway]):
        subprocess.run(['ip', 'netns', 'exec', netns, *command], check=True)


def test_a_host_that_vanishes_gets_its_relay_path_back_within_a_minute(pairing, testhosts):
    """The host loses its link, and its connection to the relay with it, and comes back with
    another address (a laptop in another network), so no word of the old connection ever reaches
    the relay: the relay must drop the dead forward itself (ClientAlive), and the host retry
    until the port is free again."""
    relay = testhosts['relay']
    network = pairing.host.harness.network
    veth, netns = network.veth_name(pairing.host.name), network.netns_name(pairing.host.name)
    address, elsewhere = pairing.host.address, pairing.host.address.rsplit('.', 1)[0] + '.250'
    subprocess.run(['ip', 'link', 'set', veth, 'down'], check=True)
    try:
        # The host forgets the connection; its reset goes nowhere, the link being down.
        subprocess.run(['ip', 'netns', 'exec', netns, 'ss', '-K', 'dst', relay.address], check=True,
                       capture_output=True)
        readdress(netns, address, elsewhere)
        time.sleep(45)
        subprocess.run(['ip', 'link', 'set', veth, 'up'], check=True)
        print('back through the relay %.0f s after the link' % lands_within(pairing, relay, 60))
    finally:
        subprocess.run(['ip', 'link', 'set', veth, 'up'], check=True)
        readdress(netns, elsewhere, address)
