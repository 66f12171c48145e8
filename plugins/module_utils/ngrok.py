# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ngrok agent configuration (v3) and the agent's own log, for pairing.tmux.ngrok_tunnel (which
writes the configuration) and pairing.tmux.ngrok_tunnel_info (which reads the log).

The configuration is written as JSON, which is YAML too: the agent reads it, and the target
needs no YAML library.  It turns the agent's local web interface and API off
(``agent.web_addr: false``): every local account could use it to publish other local
services on the owner's ngrok account, or to stop the tunnel.

The public address comes from the agent's log instead.  The service runs the agent with
``--log stdout --log-format json``: every record is one JSON object on one line, which
journald stores as the MESSAGE of an entry.  ``journal_records`` takes ``journalctl -o json``
lines and keeps only entries whose trusted fields (journald sets those underscore fields
itself; no client can) name the agent's unit and its current invocation, and whose MESSAGE
decodes as one JSON object.  A string a remote client makes the agent log stays a JSON string
inside its record: it is never parsed, and it never becomes a field of its own.  Of those
records ``endpoint_url`` takes the last one the agent writes when an endpoint is online,
``{"msg": "started tunnel", "name": NAME, "url": "tcp://HOST:PORT", ...}`` (exact field
matches), and ``agent_error`` the last one at error level, as one line: for ngrok's error
codes the owner can act on (``ERR_NGROK_8013``, a refused authtoken), the code and the fix.
"""

import json
import re

MASK = '********'
STARTED = 'started tunnel'
# log15's names for error levels ('eror', 'crit'), and the spellings other versions write; at
# crit level the agent gives up and exits ("command failed").
FATAL_LEVELS = frozenset(('crit', 'critical'))
ERROR_LEVELS = frozenset(('eror', 'error', 'err')) | FATAL_LEVELS
_AUTHTOKEN = re.compile(r'(["\']?authtoken["\']?\s*:\s*["\']?)[^"\'\s,}]+')
_HOST = r'(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?|\[[0-9A-Fa-f:.]+\])'
# Matched whole (fullmatch): '$' would let a trailing newline through.
_TCP_URL = re.compile(r'tcp://(?P<host>[A-Za-z0-9.-]+):(?P<port>[0-9]{1,5})')
_PORT = re.compile(r'[0-9]{1,5}')
_UPSTREAM = re.compile(r'(?:tcp://)?(?P<host>%s):(?P<port>[0-9]{1,5})' % _HOST)
_CONTROL = re.compile(r'[\x00-\x1f\x7f-\x9f]+')
_ERROR_TEXT_MAX = 300
# ngrok's error codes (https://ngrok.com/docs/errors): the agent writes one at the end of
# ``err`` when ngrok's service refused it, e.g. "failed to start tunnel: ...\r\n\r\nERR_NGROK_8013".
_ERROR_CODE = re.compile(r'\bERR_NGROK_[0-9]+\b')
_TOKEN_FIX = ('ngrok refused the authtoken: set NGROK_AUTHTOKEN to the token on '
              'https://dashboard.ngrok.com/get-started/your-authtoken')
# What the owner does about the refusals a pairing host meets, instead of ngrok's message
# (105-107's message quotes the authtoken).
FIXES = {
    'ERR_NGROK_8013': 'add a card to the ngrok account at https://dashboard.ngrok.com/settings#id-verification '
                      '- TCP endpoints need one',
    'ERR_NGROK_105': _TOKEN_FIX,  # not an authtoken's form
    'ERR_NGROK_106': _TOKEN_FIX,  # an ngrok v1 authtoken
    'ERR_NGROK_107': _TOKEN_FIX,  # well formed, but not valid (reset, or revoked)
}


def agent_config(authtoken, name, upstream, url=None, region=None):
    """The v3 agent configuration for one TCP endpoint forwarding to ``upstream``, without
    the local web interface and API."""
    agent = {'authtoken': authtoken, 'web_addr': False, 'update_check': False}
    if region:
        agent['region'] = region
    endpoint = {'name': name, 'url': url or 'tcp://', 'upstream': {'url': upstream_url(upstream)}}
    return {'version': 3, 'agent': agent, 'endpoints': [endpoint]}


def upstream_url(upstream):
    """The v3 ``upstream.url`` of a TCP endpoint: a port stays a port (``22``: localhost), a
    ``HOST:PORT`` (``127.0.0.1:2022``, ``[::1]:22``) or ``tcp://HOST:PORT`` becomes
    ``tcp://HOST:PORT``, the origin form ngrok documents for TCP upstreams.  ValueError
    for anything else (another scheme, a path, no port, a port out of range)."""
    text = str(upstream).strip()
    match = _UPSTREAM.fullmatch(text)
    if _PORT.fullmatch(text):
        host, port = None, int(text)
    elif match:
        host, port = match.group('host'), int(match.group('port'))
    else:
        raise ValueError('upstream must be a port, HOST:PORT or tcp://HOST:PORT, not %r' % (upstream,))
    if not 0 < port < 65536:
        raise ValueError('upstream port out of range: %r' % (upstream,))
    return str(port) if host is None else 'tcp://%s:%d' % (host, port)


def render(config):
    return json.dumps(config, indent=2, sort_keys=True) + '\n'


def configured_authtoken(text):
    """The authtoken of a configuration as ``render`` wrote it (JSON), or None for anything else
    (YAML written by hand, no token, not a configuration)."""
    config = _json_object(text)
    agent = config.get('agent') if config else None
    token = agent.get('authtoken') if isinstance(agent, dict) else None
    return token if isinstance(token, str) and token else None


def mask(text):
    """An agent configuration (ours, JSON, or hand-written YAML) with its authtoken hidden:
    for diffs, which show the old token as well as the new one."""
    return _AUTHTOKEN.sub(lambda match: match.group(1) + MASK, text)


def split_tcp_url(url):
    """``tcp://0.tcp.ngrok.io:12345`` -> ('0.tcp.ngrok.io', 12345); ValueError otherwise."""
    match = _TCP_URL.fullmatch(url) if isinstance(url, str) else None
    if not match or not 0 < int(match.group('port')) < 65536:
        raise ValueError('not a TCP address: %r' % (url,))
    return match.group('host'), int(match.group('port'))


def _reject_duplicates(pairs):
    keys = [key for key, _value in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError('duplicate key')
    return dict(pairs)


def _json_object(text):
    """``text`` decoded as exactly one JSON object (no duplicate keys), else None."""
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text, object_pairs_hook=_reject_duplicates)
    except (ValueError, TypeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def journal_records(lines, unit, invocation):
    """The agent's log records (dicts) from ``journalctl -o json`` output lines: only entries
    journald attributed to ``unit`` (``_SYSTEMD_UNIT``, e.g. ``pairing-ngrok.service``) in
    its invocation ``invocation`` (``_SYSTEMD_INVOCATION_ID``), whose MESSAGE is one JSON
    object.  Anything else (another unit, an older run, plain text, a MESSAGE journalctl had
    to write as a byte array) is skipped.  In journal order."""
    if not unit or not invocation:
        return []
    records = []
    for line in lines:
        entry = _json_object(line)
        if entry is None:
            continue
        if entry.get('_SYSTEMD_UNIT') != unit or entry.get('_SYSTEMD_INVOCATION_ID') != invocation:
            continue
        record = _json_object(entry.get('MESSAGE'))
        if record is not None:
            records.append(record)
    return records


def endpoint_url(records, name):
    """The public ``tcp://HOST:PORT`` of endpoint ``name`` from the last "started tunnel"
    record that names it (the agent logs one each time its session comes back, and a
    random address may change then), or None."""
    address = None
    for record in records:
        if record.get('msg') != STARTED or record.get('name') != name:
            continue
        try:
            split_tcp_url(record.get('url'))
        except ValueError:
            continue
        address = record['url']
    return address


def one_line(text):
    """``text``'s first line without control characters, shortened: fit for one line of an
    error message."""
    line = str(text).replace('\r', '\n').strip().split('\n', 1)[0]
    line = _CONTROL.sub(' ', line).strip()
    return line if len(line) <= _ERROR_TEXT_MAX else line[:_ERROR_TEXT_MAX - 3] + '...'


def _last_error(records):
    found = None
    for record in records:
        level = record.get('lvl')
        if isinstance(level, str) and level.lower() in ERROR_LEVELS:
            found = record
    return found


def _error_code(record):
    text = ' '.join(record[key] for key in ('msg', 'err') if isinstance(record.get(key), str))
    match = _ERROR_CODE.search(text)
    return match.group(0) if match else None


def agent_error(records):
    """What the agent last logged at error level, as one line, or None: ``CODE: fix`` for the
    codes in FIXES, else ``msg: first line of err``, followed by ngrok's code when it gave one.
    An authtoken in the line is masked."""
    found = _last_error(records)
    if found is None:
        return None
    code = _error_code(found)
    if code in FIXES:
        return '%s: %s' % (code, FIXES[code])
    message = one_line(found['msg']) if isinstance(found.get('msg'), str) else ''
    detail = one_line(found['err']) if isinstance(found.get('err'), str) else ''
    line = mask(': '.join(part for part in (message, detail) if part) or 'an error without a message')
    return line if code is None or code in line else '%s (%s)' % (line, code)


def agent_gave_up(records):
    """Whether the agent's last error is one it does not get over by retrying: at crit level
    (it exits, e.g. "command failed"), or with an ngrok error code (ngrok's service refused it;
    the same configuration gets the same answer).  A dropped session that the agent reconnects
    by itself logs neither."""
    found = _last_error(records)
    return found is not None and (found['lvl'].lower() in FATAL_LEVELS or _error_code(found) is not None)
