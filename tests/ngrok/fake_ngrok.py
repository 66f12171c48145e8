"""A local double of the ngrok agent, for tests: ngrok's cloud cannot be reached from here.

Installed on a test host as /usr/local/bin/ngrok with a python3 shebang put in front.

``ngrok start --all --config PATH [--log stdout]`` reads the same v3 configuration the real
agent reads (this collection writes it as JSON, which is YAML too), serves the agent's local
API (``/api/tunnels`` and ``/api/endpoints``, with the real field names) on ``agent.web_addr``,
and really forwards a TCP port of this host (its "public address", a new one at every start
unless the endpoint's url reserves one) to the endpoint's upstream.
"""

import contextlib
import http.server
import json
import socket
import sys
import threading


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


def forward(listener, upstream):
    while True:
        client, _address = listener.accept()
        try:
            server = socket.create_connection(upstream)
        except OSError:
            client.close()
            continue
        for pair in ((client, server), (server, client)):
            threading.Thread(target=pump, args=pair, daemon=True).start()


def main(argv):
    if argv[:1] != ['start'] or '--config' not in argv:
        print('ngrok (test double): only `ngrok start --all --config PATH` is supported', file=sys.stderr)
        return 2
    with open(argv[argv.index('--config') + 1]) as handle:
        config = json.load(handle)
    agent = config['agent']
    if not agent.get('authtoken') or agent['authtoken'] == 'invalid':
        print('ERROR: authentication failed: ERR_NGROK_105 (test double)', file=sys.stderr)
        return 1
    endpoint = config['endpoints'][0]
    upstream = str(endpoint['upstream']['url'])
    upstream = ('127.0.0.1', int(upstream)) if upstream.isdigit() else tuple(upstream.rsplit(':', 1))
    reserved = endpoint.get('url', 'tcp://').split(':')[-1] if endpoint.get('url', 'tcp://') != 'tcp://' else '0'
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(('0.0.0.0', int(reserved)))
    listener.listen(16)
    public = 'tcp://%s:%d' % (socket.gethostbyname(socket.gethostname()), listener.getsockname()[1])
    print('started tunnel %s: %s -> %s:%s' % (endpoint['name'], public, *upstream), flush=True)
    threading.Thread(target=forward, args=(listener, upstream), daemon=True).start()

    tunnels = {'tunnels': [{'name': endpoint['name'], 'ID': 'test-double', 'public_url': public, 'proto': 'tcp',
                            'config': {'addr': '%s:%s' % upstream, 'inspect': False}}],
               'uri': '/api/tunnels'}
    endpoints = {'endpoints': [{'id': 'ep_testdouble', 'name': endpoint['name'], 'url': public,
                                'upstream': {'url': str(endpoint['upstream']['url']), 'protocol': ''}}],
                 'uri': '/api/endpoints'}

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

    host, port = agent.get('web_addr', '127.0.0.1:4040').rsplit(':', 1)
    http.server.ThreadingHTTPServer((host, int(port)), Api).serve_forever()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
