"""A local stand-in for the key endpoints of GitHub, GitHub Enterprise and GitLab.

GitHub cannot be reached from the test machines, so tests point ``github_url`` at this
server on 127.0.0.1. It serves ``/{user}.keys`` (text/plain, one key per line) and the REST
API ``/api/v3/users/{user}/keys`` (JSON, GitHub Enterprise's path), or any answer a test
sets for a path, and counts every request it gets.
"""

import collections
import http.server
import json
import threading
import time


class Answer:
    def __init__(self, status=200, body=b'', headers=None, delay=0.0):
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = headers or {}
        self.delay = delay


class KeyServer:
    def __init__(self):
        self.answers = {}
        self.requests = collections.Counter()
        self.authorization = {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests[self.path] += 1
                server.authorization[self.path] = self.headers.get('Authorization')
                # GitHub's user names are case-insensitive: /Alice.keys is /alice.keys.
                answer = server.answers.get(self.path.lower(), Answer(404, 'Not Found', {'Content-Type': 'text/plain'}))
                time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header('Content-Length', str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.url = 'http://127.0.0.1:%d' % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def set(self, path, *args, **kwargs):
        self.answers[path.lower()] = Answer(*args, **kwargs)

    def publish(self, user, lines, newline='\n'):
        """``user``'s keys, as GitHub serves them at both endpoints."""
        self.set('/%s.keys' % user, 200, ''.join(line + newline for line in lines),
                 {'Content-Type': 'text/plain; charset=utf-8'})
        self.set('/api/v3/users/%s/keys' % user, 200,
                 json.dumps([{'id': index, 'key': line} for index, line in enumerate(lines, 1)]),
                 {'Content-Type': 'application/json; charset=utf-8'})

    def total(self):
        return sum(self.requests.values())
