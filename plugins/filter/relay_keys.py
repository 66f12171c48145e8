# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: relay_keys
short_description: The relay's authorized_keys lines for the pairing hosts' tunnel keys
version_added: 0.2.0
description:
  - Turns the pairing hosts' tunnels, as the role C(pairing.tmux.relay) takes them in
    C(pairing_relay_tunnel_keys), into the lines of the relay account's C(authorized_keys)
    file, one per tunnel, each allowed to listen on its own port and nothing else -
    C(restrict,port-forwarding,permitlisten="0.0.0.0:PORT",command="/bin/false" TYPE BASE64 pairing.tmux:tunnel).
  - Every key is read by the same parser as guests' keys (the key types of
    M(pairing.tmux.github_authorized_keys), RSA of at least 2048 bits, valid base64, the
    embedded type the declared one); a comment after the key is dropped.
  - A bad key, a bad port, a key listed twice or a port given to two tunnels fails with one
    line naming the tunnel, the reason and the fix.
author: pairing.tmux contributors (@pairing-tmux)
positional: port
options:
  _input:
    description:
      - The tunnels, each a public key C(TYPE BASE64) (listening on O(port)) or a dict
        C({key, port}). An empty list or null is no tunnel.
    type: list
    elements: raw
    required: true
  port:
    description: The port of tunnels given without one.
    type: int
    default: 2222
"""

EXAMPLES = r"""
lines: "{{ [hostvars['box'].pairing_tunnel_public_key] | pairing.tmux.relay_keys(2222) }}"
# => ['restrict,port-forwarding,permitlisten="0.0.0.0:2222",command="/bin/false"
#      ssh-ed25519 AAAA... pairing.tmux:tunnel']   (one line each)
team: "{{ [{'key': hostvars['alice-laptop'].pairing_tunnel_public_key, 'port': 2201}] | pairing.tmux.relay_keys }}"
none_yet: "{{ [] | pairing.tmux.relay_keys }}"
# => []
"""

RETURN = r"""
_value:
  description: One C(authorized_keys) line per tunnel, in the order given.
  type: list
  elements: str
"""

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.pairing.tmux.plugins.module_utils.authorized_keys import KeyLineError, parse_line

MARKER = 'pairing.tmux:tunnel'
FIX_KEY = "give the pairing host's tunnel public key, TYPE BASE64 (hostvars[HOST].pairing_tunnel_public_key)"
FIX_PORT = 'give a port from 1024 to 65535 (pairing_relay_port, or port: N for this tunnel)'


def _fail(number, what, why, fix):
    return AnsibleFilterError('relay_keys: tunnel %d (%s): %s: %s' % (number, what, why, fix))


def _shown(text):
    """The key as the error names it: short, one line, never a private key's text."""
    if 'PRIVATE KEY' in text:
        return 'a private key'
    text = ' '.join(text.split())
    return text if len(text) <= 40 else text[:37] + '...'


def _port(value, number, what):
    if isinstance(value, int) and not isinstance(value, bool):
        port = value
    elif isinstance(value, str) and re.fullmatch(r'[0-9]+', value.strip()):
        port = int(value)
    else:
        raise _fail(number, what, 'port %r is not a number' % (value,), FIX_PORT)
    if port < 1 or port > 65535:
        raise _fail(number, what, 'port %d is not a TCP port' % port, FIX_PORT)
    if port < 1024:
        # sshd lets only root listen on a privileged port; the tunnel account is not root.
        raise _fail(number, what, 'port %d is privileged, and the tunnel account is not root' % port, FIX_PORT)
    return port


def relay_keys(tunnels, port=2222):
    if tunnels is None:
        return []
    if isinstance(tunnels, (str, dict)) or not isinstance(tunnels, (list, tuple)):
        raise AnsibleFilterError('relay_keys: expected a list of tunnels (keys, or {key, port} dicts), got %s: '
                                 'wrap a single key in a list' % type(tunnels).__name__)
    lines, keys, ports = [], {}, {}
    for number, tunnel in enumerate(tunnels, 1):
        if isinstance(tunnel, dict):
            unknown = sorted(str(name) for name in tunnel if name not in ('key', 'port'))
            if unknown:
                raise _fail(number, _shown(str(tunnel.get('key', ''))), 'unknown field %s' % ', '.join(unknown),
                            'a tunnel is a key, or a dict with key and port')
            key, tunnel_port = tunnel.get('key'), tunnel.get('port')
        else:
            key, tunnel_port = tunnel, None
        if not isinstance(key, str) or not key.strip():
            raise _fail(number, _shown(str(key or '')), 'no key', FIX_KEY)
        what = _shown(key)
        if 'PRIVATE KEY' in key:
            raise _fail(number, what, 'that is a private key', "give the public one (the .pub file's line)")
        try:
            parsed = parse_line(key)
        except KeyLineError as error:
            raise _fail(number, what, str(error), FIX_KEY) from None
        if parsed.options:
            raise _fail(number, what, 'a tunnel key carries no options', FIX_KEY)
        tunnel_port = _port(port if tunnel_port is None else tunnel_port, number, what)
        if parsed.identity in keys:
            raise _fail(number, what, 'the same key as tunnel %d' % keys[parsed.identity],
                        'list each pairing host once (sshd would use only the first line)')
        if tunnel_port in ports:
            raise _fail(number, what, 'port %d is also tunnel %d\'s' % (tunnel_port, ports[tunnel_port]),
                        'give each pairing host a port of its own ({key: ..., port: N})')
        keys[parsed.identity], ports[tunnel_port] = number, number
        options = (('restrict', None), ('port-forwarding', None), ('permitlisten', '0.0.0.0:%d' % tunnel_port),
                   ('command', '/bin/false'))
        lines.append(parsed._replace(options=options, comment=MARKER).render())
    return lines


class FilterModule:
    def filters(self):
        return {'relay_keys': relay_keys}
