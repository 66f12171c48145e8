# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: address_reach
short_description: Which network can reach an address guests are told to use
version_added: 0.3.0
description:
  - An IP address that is not reachable from the internet to the kind of network that can reach
    it, e.g. C(192.168.1.20) to C(a private network (RFC 1918)); an empty string for a global
    address or a host name (nothing is known about a name without asking DNS).
author: pairing.tmux contributors (@pairing-tmux)
options:
  _input:
    description: The address guests are told to connect to.
    type: str
    required: true
"""

EXAMPLES = r"""
reach: "{{ '100.64.3.4' | pairing.tmux.address_reach }}"  # => "a carrier's shared NAT network (RFC 6598)"
"""

RETURN = r"""
_value:
  description: The network that can reach the address, or an empty string when anyone can (or when unknown).
  type: str
"""

import ipaddress

# The first network that holds the address names it; any other non-global address is "local".
_NETWORKS = (
    ('a private network (RFC 1918)', ('10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16')),
    ("a carrier's shared NAT network (RFC 6598)", ('100.64.0.0/10',)),
    ('the local link (link-local)', ('169.254.0.0/16', 'fe80::/10')),
    ('a private network (unique local IPv6)', ('fc00::/7',)),
    ('this machine alone (loopback)', ('127.0.0.0/8', '::1/128')),
)


def address_reach(address):
    try:
        ip = ipaddress.ip_address(str(address).strip('[]'))
    except ValueError:
        return ''
    for reach, networks in _NETWORKS:
        if any(ip in ipaddress.ip_network(network) for network in networks):
            return reach
    return '' if ip.is_global else 'a local network'


class FilterModule:

    def filters(self):
        return {'address_reach': address_reach}
