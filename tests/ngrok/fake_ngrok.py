"""A local double of the ngrok agent, for tests: ngrok's cloud cannot be reached from here.

Installed on a test host as /usr/local/bin/ngrok with a python3 shebang put in front.

``ngrok start --all --config PATH [--log stdout|stderr|false|FILE] [--log-format json|logfmt]``
reads the same v3 configuration the real agent reads (this collection writes it as JSON, which
is YAML too; the double reads JSON only) and refuses, as the agent does, a key it does not
know.  It forwards a real TCP port of this host (its "public address", a new one at every
start unless the endpoint's url reserves one) to each endpoint's upstream, and logs what the
real agent logs, in the same shapes (log15 records: ``t``, ``lvl``, ``msg``, then the
context; JSON objects with sorted keys, one a line):

- ``starting web service`` (obj ``web``, ``addr``) and the local API (``/api/tunnels``,
  ``/api/endpoints``) only when ``agent.web_addr`` is not false;
- ``client session established``, ``tunnel session started``, then per endpoint
  ``started tunnel`` (obj ``tunnels``, ``name``, ``addr``, ``url``);
- per connection ``join connections`` (the remote address, which the remote side picks),
  and ``failed to open private leg`` at warn level when the upstream refuses;
- a refused authtoken (missing, or ``invalid``: ngrok's ``ERR_NGROK_105``) or a bad
  configuration: ``command failed`` at crit level with the reason in ``err`` (several lines,
  as the agent writes it; a refusal ends with ngrok's code and its page), the same as
  ``ERROR:`` lines on stderr, exit 1;
- the authtoken ``fail-8013``: an account without a card on file, which ngrok refuses TCP
  endpoints (``ERR_NGROK_8013``): the session is established, then ``command failed`` as above
  with ``failed to start tunnel: ...`` in ``err``, the shape published records of the real
  agent have for other codes (docs/security.md says what is verified and what assumed).

It logs nothing unless told where (``--log`` or ``agent.log``): the module must not learn
more from the double than it would from the agent.
"""

import contextlib
import datetime
import http.server
import json
import os
import re
import socket
import sys
import threading

AGENT_KEYS = {'api_key', 'authtoken', 'connect_cas', 'connect_interface', 'connect_timeout', 'connect_url',
              'console_ui', 'console_ui_color', 'crl_noverify', 'dns_resolver_ips', 'heartbeat_interval',
              'heartbeat_tolerance', 'inspect_db_size', 'log_level', 'log_format', 'log', 'metadata', 'proxy_url',
              'remote_management', 'update_channel', 'update_check', 'web_addr', 'web_allow_hosts',
              'region'}  # region: deprecated since agent 3.5, still read
ENDPOINT_KEYS = {'name', 'url', 'upstream', 'bindings', 'metadata', 'description', 'traffic_policy',
                 'agent_tls_termination', 'pooling_enabled'}
UPSTREAM_KEYS = {'url', 'protocol', 'proxy_protocol'}
# upstream.url forms ngrok documents for a TCP endpoint: a port (on localhost), or an origin.
PORT = re.compile(r'[0-9]{1,5}')
ORIGIN = re.compile(r'tcp://(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})')
LEVELS = {'debug': 0, 'info': 1, 'warn': 2, 'error': 3, 'crit': 4}
# The double's own words in the shape of ngrok's refusals: a reason, a blank line, the code, its page.
REFUSED_TOKEN = ('authentication failed: The authtoken you specified is not valid (test double).\r\n\r\n'
                 'ERR_NGROK_105\r\nhttps://ngrok.com/docs/errors/err_ngrok_105\r\n')
NO_CARD = ('failed to start tunnel: TCP endpoints need a credit or debit card on the account (test double).\n'
           'Add one at https://dashboard.ngrok.com/settings#id-verification\r\n\r\n'
           'ERR_NGROK_8013\r\nhttps://ngrok.com/docs/errors/err_ngrok_8013\r\n')
LOG15_NAMES = {'debug': 'dbug', 'info': 'info', 'warn': 'warn', 'error': 'eror', 'crit': 'crit'}


class Failure(Exception):
    """What the agent reports as ``command failed``."""


class Log:
    def __init__(self, target, form, level):
        self.target, self.form, self.level = target, form, LEVELS.get(level, 1)
        self.lock = threading.Lock()
        self.stream = None
        if target == 'stdout':
            self.stream = sys.stdout
        elif target == 'stderr':
            self.stream = sys.stderr
        elif target and target != 'false':
            self.stream = open(target, 'a')  # noqa: SIM115 (open for the life of the agent)

    def __call__(self, level, msg, **context):
        if self.stream is None or LEVELS[level] < self.level:
            return
        record = dict(context, t=datetime.datetime.now().astimezone().isoformat(), lvl=LOG15_NAMES[level], msg=msg)
        if self.form == 'json':
            line = json.dumps(record, sort_keys=True, separators=(',', ':'))
        else:
            first = ['t', 'lvl', 'msg']
            line = ' '.join('%s=%s' % (key, logfmt(record[key])) for key in first + sorted(set(record) - set(first)))
        with self.lock:
            self.stream.write(line + '\n')
            self.stream.flush()


def logfmt(value):
    text = 'null' if value is None else str(value)
    return json.dumps(text) if not text or re.search(r'[\s"=\\]', text) else text


def options(argv):
    """``--name value``, ``--name=value`` and bare flags, as the agent takes them."""
    found, words = {}, list(argv)
    while words:
        word = words.pop(0)
        if not word.startswith('--'):
            found.setdefault('_', []).append(word)
        elif '=' in word:
            key, value = word[2:].split('=', 1)
            found[key] = value
        elif word in ('--all', '--none'):
            found[word[2:]] = True
        else:
            found[word[2:]] = words.pop(0) if words else ''
    return found


def check(config):
    if not isinstance(config, dict) or str(config.get('version')) != '3':
        raise Failure('configuration version must be 3 (the double reads v3 only)')
    unknown = set(config) - {'version', 'agent', 'endpoints'}
    agent = config.get('agent')
    if unknown or not isinstance(agent, dict):
        raise Failure('error reading configuration file: unknown or missing fields %s' % sorted(unknown or ['agent']))
    if set(agent) - AGENT_KEYS:
        raise Failure("error reading configuration file: field(s) %s not found in type config.agent"
                      % sorted(set(agent) - AGENT_KEYS))
    endpoints = config.get('endpoints') or []
    names = [endpoint.get('name') for endpoint in endpoints]
    if len(set(names)) != len(names) or not all(names):
        raise Failure('every endpoint needs a name of its own')
    for endpoint in endpoints:
        if set(endpoint) - ENDPOINT_KEYS or set(endpoint.get('upstream') or {}) - UPSTREAM_KEYS:
            raise Failure('error reading configuration file: unknown field in endpoint %s' % endpoint['name'])
        if not str(endpoint.get('url', '')).startswith('tcp://'):
            raise Failure('endpoint %s: the double serves tcp:// endpoints only' % endpoint['name'])
        upstream(endpoint)
    return agent, endpoints


def upstream(endpoint):
    """(host, port) the endpoint forwards to; the forms a TCP endpoint's upstream.url takes."""
    text = str((endpoint.get('upstream') or {}).get('url', ''))
    origin = ORIGIN.fullmatch(text)
    if PORT.fullmatch(text):
        return 'localhost', int(text)
    if origin:
        return origin.group('host').strip('[]'), int(origin.group('port'))
    raise Failure('endpoint %s: invalid upstream url %r: for tcp endpoints give a port or tcp://host:port'
                  % (endpoint['name'], text))


def pump(source, target):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        for conn in (source, target):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def forward(log, listener, address):
    while True:
        client, remote = listener.accept()
        ident = os.urandom(6).hex()
        log('info', 'join connections', obj='join', id=ident, l='%s:%d' % address, r='%s:%d' % remote[:2])
        try:
            server = socket.create_connection(address)
        except OSError as error:
            log('warn', 'failed to open private leg', obj='tunnels', id=ident, privaddr='%s:%d' % address,
                err='dial tcp %s:%d: %s' % (*address, error.strerror or error))
            client.close()
            continue
        for pair in ((client, server), (server, client)):
            threading.Thread(target=pump, args=pair, daemon=True).start()


def serve_api(web_addr, tunnels):
    endpoints = {'endpoints': [{'id': 'ep_' + tunnel['ID'], 'name': tunnel['name'], 'url': tunnel['public_url'],
                                'upstream': {'url': tunnel['config']['addr'], 'protocol': ''}}
                               for tunnel in tunnels['tunnels']], 'uri': '/api/endpoints'}

    class Api(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # the name http.server calls
            body = {'/api/tunnels': tunnels, '/api/endpoints': endpoints}.get(self.path)
            payload = json.dumps(body or {'error_code': 100, 'status_code': 404, 'msg': 'not found'}).encode()
            self.send_response(200 if body else 404)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    host, port = str(web_addr).rsplit(':', 1)
    server = http.server.ThreadingHTTPServer((host, int(port)), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def start(log, agent, endpoints):
    if not agent.get('authtoken') or agent['authtoken'] == 'invalid':
        raise Failure(REFUSED_TOKEN)
    web_addr = agent.get('web_addr', '127.0.0.1:4040')
    if web_addr is not False and str(web_addr) != 'false':
        log('info', 'starting web service', obj='web', addr=str(web_addr), allow_hosts=None)
    log('info', 'client session established', obj='csess', id=os.urandom(6).hex())
    log('info', 'tunnel session started', obj='tunnels.session')
    host = socket.gethostbyname(socket.gethostname())
    tunnels = {'tunnels': [], 'uri': '/api/tunnels'}
    for endpoint in endpoints:
        if agent['authtoken'] == 'fail-8013':
            raise Failure(NO_CARD)
        address = upstream(endpoint)
        reserved = endpoint['url'].rsplit(':', 1)[-1] if endpoint['url'] != 'tcp://' else '0'
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(('0.0.0.0', int(reserved)))
        listener.listen(16)
        public = 'tcp://%s:%d' % (host, listener.getsockname()[1])
        threading.Thread(target=forward, args=(log, listener, address), daemon=True).start()
        log('info', 'started tunnel', obj='tunnels', name=endpoint['name'], addr='//%s:%d' % address, url=public)
        tunnels['tunnels'].append({'name': endpoint['name'], 'ID': os.urandom(16).hex(), 'public_url': public,
                                   'proto': 'tcp', 'config': {'addr': '%s:%d' % address, 'inspect': False}})
    if web_addr is not False and str(web_addr) != 'false':
        serve_api(web_addr, tunnels)


def main(argv):
    given = options(argv)
    if given.get('_', [])[:1] != ['start'] or 'config' not in given:
        print('ngrok (test double): only `ngrok start --all --config PATH` is supported', file=sys.stderr)
        return 2
    log = Log(given.get('log', 'false'), given.get('log-format', 'logfmt'), given.get('log-level', 'info'))
    try:
        with open(given['config']) as handle:
            config = json.load(handle)
        agent, endpoints = check(config)
        if 'log' not in given and agent.get('log'):
            log = Log(agent['log'], given.get('log-format', agent.get('log_format', 'logfmt')),
                      agent.get('log_level', 'info'))
        if not given.get('all'):
            endpoints = [endpoint for endpoint in endpoints if endpoint['name'] in given.get('_', [])[1:]]
        start(log, agent, endpoints)
    except (OSError, ValueError, TypeError, AttributeError, KeyError, Failure) as error:
        reason = str(error)
        log('crit', 'command failed', err=reason)
        for line in reason.replace('\r', '').split('\n'):
            print('ERROR:  ' + line, file=sys.stderr)
        return 1
    threading.Event().wait()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
