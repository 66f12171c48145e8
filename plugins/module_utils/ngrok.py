# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ngrok agent configuration (v3) and the agent's local API, for pairing.tmux.ngrok_tunnel.

The configuration is written as JSON, which is YAML too: the agent reads it, and the target
needs no YAML library.  The API answers ``/api/tunnels`` (every agent) and, on agents that
know endpoints, ``/api/endpoints``; either may name the public TCP address.
"""

import json
import re

MASK = '********'
_AUTHTOKEN = re.compile(r'(["\']?authtoken["\']?\s*:\s*["\']?)[^"\'\s,}]+')
_TCP_URL = re.compile(r'^tcp://(?P<host>[A-Za-z0-9.-]+):(?P<port>\d{1,5})$')


def agent_config(authtoken, name, upstream, url=None, region=None, web_addr='127.0.0.1:4040'):
    """The v3 agent configuration for one TCP endpoint forwarding to ``upstream``."""
    agent = {'authtoken': authtoken, 'web_addr': web_addr, 'update_check': False}
    if region:
        agent['region'] = region
    endpoint = {'name': name, 'url': url or 'tcp://', 'upstream': {'url': str(upstream)}}
    return {'version': 3, 'agent': agent, 'endpoints': [endpoint]}


def render(config):
    return json.dumps(config, indent=2, sort_keys=True) + '\n'


def mask(text):
    """An agent configuration (ours, JSON, or hand-written YAML) with its authtoken hidden:
    for diffs, which show the old token as well as the new one."""
    return _AUTHTOKEN.sub(lambda match: match.group(1) + MASK, text)


def public_url(name, tunnels=None, endpoints=None):
    """The TCP address of endpoint ``name`` from either API answer (parsed JSON), or None."""
    for item in (tunnels or {}).get('tunnels') or []:
        if item.get('name') == name and str(item.get('public_url', '')).startswith('tcp://'):
            return item['public_url']
    for item in (endpoints or {}).get('endpoints') or []:
        if item.get('name') == name and str(item.get('url', '')).startswith('tcp://'):
            return item['url']
    return None


def split_tcp_url(url):
    """``tcp://0.tcp.ngrok.io:12345`` -> ('0.tcp.ngrok.io', 12345); ValueError otherwise."""
    match = _TCP_URL.match(url or '')
    if not match or not 0 < int(match.group('port')) < 65536:
        raise ValueError('not a TCP address: %r' % (url,))
    return match.group('host'), int(match.group('port'))
