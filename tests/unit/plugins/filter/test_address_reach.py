"""pairing.tmux.address_reach: when the final block warns that only a local network can connect."""

import pytest

from ansible_collections.pairing.tmux.plugins.filter.address_reach import address_reach


@pytest.mark.parametrize('address, reach', [
    ('192.168.1.20', 'a private network (RFC 1918)'),
    ('10.1.2.3', 'a private network (RFC 1918)'),
    ('172.31.255.254', 'a private network (RFC 1918)'),
    ('100.64.3.4', "a carrier's shared NAT network (RFC 6598)"),
    ('169.254.10.1', 'the local link (link-local)'),
    ('fe80::1', 'the local link (link-local)'),
    ('fd12:3456::1', 'a private network (unique local IPv6)'),
    ('127.0.0.1', 'this machine alone (loopback)'),
    ('192.0.2.7', 'a local network'),  # documentation range: not global
])
def test_addresses_only_a_local_network_reaches(address, reach):
    assert address_reach(address) == reach


@pytest.mark.parametrize('address', ['8.8.4.4', '172.32.0.1', '100.128.0.1', '2a00:1450:4001::1',
                                     '0.tcp.ngrok.io', 'relay.example.org', ''])
def test_global_addresses_and_names_get_no_warning(address):
    assert address_reach(address) == ''
