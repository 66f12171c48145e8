"""Fetching keys on the controller, against a local HTTP server that answers like GitHub.

The key server speaks plain http (allowed here with allow_http); the tests of the https-only
rule also run it behind TLS, with a certificate made for the test.
"""

import contextlib
import datetime
import ipaddress
import multiprocessing
import socket
import ssl
import struct
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from keyserver import KeyServer

from ansible_collections.pairing.tmux.plugins.module_utils.authorized_keys import DEFAULT_KEY_TYPES
from ansible_collections.pairing.tmux.plugins.module_utils.managed_keys import Guest
from ansible_collections.pairing.tmux.plugins.plugin_utils.key_sources import KeySourceError, KeySources


@pytest.fixture(autouse=True)
def direct(monkeypatch):
    """No proxy from the environment: the tests talk to 127.0.0.1 (and look up a .invalid name) only."""
    for variable in ('http_proxy', 'https_proxy', 'all_proxy', 'no_proxy'):
        monkeypatch.delenv(variable, raising=False)
        monkeypatch.delenv(variable.upper(), raising=False)


@pytest.fixture
def server():
    with KeyServer() as running:
        yield running


def sources(server, tmp_path, **options):
    return KeySources(str(tmp_path), github_url=server.url, allow_http=True, **options)


def fetch(server, tmp_path, name='alice', **options):
    return sources(server, tmp_path, **options).keys(Guest.from_spec(name), DEFAULT_KEY_TYPES)


def test_plain_keys_endpoint(server, tmp_path, ed25519_lines):
    server.publish('alice', ed25519_lines[:2])
    assert [key.identity for key in fetch(server, tmp_path)] == [' '.join(line.split()[:2])
                                                                 for line in ed25519_lines[:2]]
    assert server.requests == {'/alice.keys': 1}
    assert server.authorization['/alice.keys'] is None


def test_crlf_bodies_and_blank_lines(server, tmp_path, ed25519_lines):
    server.publish('alice', [ed25519_lines[0], '', ed25519_lines[1]], newline='\r\n')
    assert len(fetch(server, tmp_path)) == 2


def test_duplicate_keys_are_served_and_become_one_line(server, tmp_path, ed25519_lines):
    server.publish('alice', [ed25519_lines[0], ed25519_lines[0]])
    keys = fetch(server, tmp_path)
    assert len(keys) == 2
    assert len(Guest.from_spec('alice').managed_keys(keys)) == 1


def test_token_uses_the_enterprise_rest_api_with_the_token(server, tmp_path, ed25519_lines):
    server.publish('alice', ed25519_lines[:1])
    keys = fetch(server, tmp_path, api_token='s3cret')
    assert keys[0].key_b64 == ed25519_lines[0].split()[1]
    assert server.requests == {'/api/v3/users/alice/keys': 1}
    assert server.authorization['/api/v3/users/alice/keys'] == 'Bearer s3cret'


def test_github_dot_com_api_is_api_github_com(tmp_path):
    url, is_api = KeySources(str(tmp_path), api_token='t').url(Guest.from_spec('alice'))
    assert (url, is_api) == ('https://api.github.com/users/alice/keys', True)


def test_gitlab_and_url_sources(server, tmp_path, ed25519_lines):
    server.publish('carol', ed25519_lines[:1])
    server.set('/team/dave.pub', 200, ed25519_lines[1] + '\n', {'Content-Type': 'text/plain'})
    source = KeySources(str(tmp_path), github_url='http://127.0.0.1:9', gitlab_url=server.url, allow_http=True)
    assert len(source.keys(Guest.from_spec({'name': 'carol', 'source': 'gitlab'}), DEFAULT_KEY_TYPES)) == 1
    dave = Guest.from_spec({'name': 'dave', 'source': server.url + '/team/dave.pub'})
    assert source.keys(dave, DEFAULT_KEY_TYPES)[0].key_b64 == ed25519_lines[1].split()[1]


def test_redirects_are_followed(server, tmp_path, ed25519_lines):
    server.publish('alice', ed25519_lines[:1])
    server.set('/old.keys', 301, '', {'Location': server.url + '/alice.keys'})
    guest = Guest.from_spec({'name': 'old', 'source': server.url + '/old.keys'})
    assert len(sources(server, tmp_path).keys(guest, DEFAULT_KEY_TYPES)) == 1


FAILURES = {
    'missing user': (dict(status=404, body='Not Found'),
                     r'user alice \(http://[^)]+/alice.keys\): not found \(HTTP 404\)'),
    'server error': (dict(status=503, body='busy'), 'the server answered HTTP 503'),
    'HTML by type': (dict(status=200, body='ok', headers={'Content-Type': 'text/html'}), 'got an HTML page'),
    'HTML by body': (dict(status=200, body='  <html><body>Sign in</body></html>'), 'got an HTML page'),
    'empty body': (dict(status=200, body='\n'), 'no public keys are published there'),
    'huge body': (dict(status=200, body='ssh-ed25519 ' + 'A' * (1024 * 1024 + 1)), 'larger than 1048576 bytes'),
    'not UTF-8': (dict(status=200, body=b'\xff\xfe'), 'not UTF-8'),
    'rate limited': (dict(status=403, body='API rate limit exceeded',
                          headers={'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '1798761600'}),
                     r'rate-limited \(HTTP 403\) until 2027-01-01 00:00 UTC: set api_token'),
    'too many requests': (dict(status=429, body='slow down'), r'rate-limited \(HTTP 429\): set api_token'),
    'refused token': (dict(status=401, body='Bad credentials'), r'access refused \(HTTP 401\): check api_token'),
}


@pytest.mark.parametrize('case', sorted(FAILURES))
def test_every_failure_names_the_user_and_the_reason(server, tmp_path, case):
    answer, reason = FAILURES[case]
    server.set('/alice.keys', **answer)
    with pytest.raises(KeySourceError, match=reason) as failure:
        fetch(server, tmp_path)
    assert str(failure.value).startswith('user alice (')
    assert '\n' not in str(failure.value)


def test_an_invalid_line_fails_the_user(server, tmp_path, ed25519_lines):
    server.set('/alice.keys', 200, ed25519_lines[0] + '\nssh-dss AAAAB3NzaC1kc3M=\n')
    with pytest.raises(KeySourceError, match=r'key 2: key type ssh-dss is not accepted'):
        fetch(server, tmp_path)


def test_an_api_answer_that_is_not_a_key_list_fails(server, tmp_path):
    server.set('/api/v3/users/alice/keys', 200, '{"message": "Not Found"}', {'Content-Type': 'application/json'})
    with pytest.raises(KeySourceError, match='did not answer with a list of keys'):
        fetch(server, tmp_path, api_token='t')


def test_one_request_per_url_per_run_even_for_errors(server, tmp_path, ed25519_lines):
    server.publish('alice', ed25519_lines[:1])
    server.set('/bob.keys', 500, 'oops')
    for _attempt in range(3):
        fetch(server, tmp_path)
        with pytest.raises(KeySourceError, match='HTTP 500'):
            fetch(server, tmp_path, name='bob')
    server.publish('bob', ed25519_lines[1:2])  # fixed upstream: this run still fails closed
    with pytest.raises(KeySourceError, match='HTTP 500'):
        fetch(server, tmp_path, name='bob')
    assert server.requests == {'/alice.keys': 1, '/bob.keys': 1}


def _fetch_in_worker(url, cache_dir):
    KeySources(cache_dir, github_url=url, allow_http=True).keys(Guest.from_spec('alice'), DEFAULT_KEY_TYPES)


def test_concurrent_workers_share_one_request(server, tmp_path, ed25519_lines):
    # Ansible's forks are processes: they meet in the run's temp dir, and the first one fetches.
    server.set('/alice.keys', 200, ed25519_lines[0] + '\n', delay=0.3)
    context = multiprocessing.get_context('fork')
    workers = [context.Process(target=_fetch_in_worker, args=(server.url, str(tmp_path))) for worker in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert [worker.exitcode for worker in workers] == [0] * 6
    assert server.requests == {'/alice.keys': 1}


# https only, unless allow_http: over plain http anyone on the path could add a key.

HTTP_REFUSED = ('plain http:// is refused (anyone on the path could add a key): use https://, or set '
                'allow_http: true (the host role: pairing_allow_http) for a network you trust')


@pytest.fixture(scope='module')
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (its file, the private key's file)."""
    directory = tmp_path_factory.mktemp('tls')
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'pairing.tmux test key server')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / 'cert.pem', directory / 'key.pem'
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


@pytest.fixture
def untrusted_tls_server(certificate):
    """The key server behind TLS, with a certificate that no CA bundle holds."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    running = KeyServer()
    running.httpd.socket = context.wrap_socket(running.httpd.socket, server_side=True)
    running.url = running.url.replace('http://', 'https://', 1)
    with running:
        yield running


@pytest.fixture
def tls_server(untrusted_tls_server, certificate, monkeypatch):
    """The key server behind TLS, its certificate trusted by requests (verified, not skipped)."""
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', certificate[0])
    return untrusted_tls_server


def test_https_needs_no_flag_and_its_redirects_are_followed(tls_server, tmp_path, ed25519_lines):
    tls_server.publish('alice', ed25519_lines[:1])
    tls_server.set('/old.keys', 301, '', {'Location': tls_server.url + '/alice.keys'})
    source = KeySources(str(tmp_path), github_url=tls_server.url)
    assert [key.identity for key in source.keys(Guest.from_spec('alice'), DEFAULT_KEY_TYPES)] == [
        ' '.join(ed25519_lines[0].split()[:2])]
    assert len(source.keys(Guest.from_spec({'name': 'old', 'source': tls_server.url + '/old.keys'}),
                           DEFAULT_KEY_TYPES)) == 1
    assert tls_server.requests == {'/alice.keys': 2, '/old.keys': 1}


@pytest.mark.parametrize('kind', ['github', 'github API', 'gitlab', 'url'])
def test_plain_http_is_refused_before_any_request_in_one_line(server, tmp_path, ed25519_lines, kind):
    server.publish('alice', ed25519_lines[:1])
    spec = {'name': 'alice', 'source': {'gitlab': 'gitlab', 'url': server.url + '/alice.keys'}.get(kind, 'github')}
    options = dict(github_url=server.url, gitlab_url=server.url, api_token='s3cret' if kind == 'github API' else None)
    refusing = KeySources(str(tmp_path), **options)
    url = refusing.url(Guest.from_spec(spec))[0]
    with pytest.raises(KeySourceError) as failure:
        refusing.keys(Guest.from_spec(spec), DEFAULT_KEY_TYPES)
    assert str(failure.value) == 'user alice (%s): %s' % (url, HTTP_REFUSED)
    assert server.total() == 0  # nothing was asked, and no token went out over http
    allowing = KeySources(str(tmp_path), allow_http=True, **options)
    assert len(allowing.keys(Guest.from_spec(spec), DEFAULT_KEY_TYPES)) == 1
    assert server.total() == 1


def test_a_redirect_from_https_to_http_is_not_followed_unless_http_is_allowed(tls_server, server, tmp_path,
                                                                              ed25519_lines):
    server.publish('alice', ed25519_lines[:1])
    tls_server.set('/alice.keys', 302, '', {'Location': server.url + '/alice.keys'})
    with pytest.raises(KeySourceError) as failure:
        KeySources(str(tmp_path), github_url=tls_server.url).keys(Guest.from_spec('alice'), DEFAULT_KEY_TYPES)
    assert str(failure.value) == 'user alice (%s/alice.keys): refused the redirect to %s/alice.keys: %s' % (
        tls_server.url, server.url, HTTP_REFUSED)
    assert server.total() == 0
    # In the same run a task that allows http gets an answer of its own, not the refusal.
    allowing = KeySources(str(tmp_path), github_url=tls_server.url, allow_http=True)
    assert len(allowing.keys(Guest.from_spec('alice'), DEFAULT_KEY_TYPES)) == 1
    assert server.requests == {'/alice.keys': 1} and tls_server.requests == {'/alice.keys': 2}


def test_other_schemes_are_refused(tmp_path):
    with pytest.raises(KeySourceError, match=r'^user alice \(ftp://keys.example/alice.keys\): not an https:// URL'):
        KeySources(str(tmp_path), github_url='ftp://keys.example', allow_http=True).keys(
            Guest.from_spec('alice'), DEFAULT_KEY_TYPES)


# Network failures: each is one line, what failed and what to do, never urllib3's text.

def network_failure(tmp_path, base_url, **options):
    """What fetching alice's keys from ``base_url`` fails with, after 'user alice (URL): '."""
    source = KeySources(str(tmp_path), github_url=base_url, allow_http=True, **options)
    with pytest.raises(KeySourceError) as failure:
        source.keys(Guest.from_spec('alice'), DEFAULT_KEY_TYPES)
    start = 'user alice (%s/alice.keys): ' % base_url
    assert str(failure.value).startswith(start)
    return str(failure.value)[len(start):]


def closed_port():
    """A port on 127.0.0.1 that nothing listens on (it did a moment ago)."""
    with socket.create_server(('127.0.0.1', 0)) as listener:
        return listener.getsockname()[1]


@contextlib.contextmanager
def tcp_server(handle):
    """A TCP server on 127.0.0.1 that reads each connection's request and hands it to ``handle``."""
    with socket.create_server(('127.0.0.1', 0)) as listener:

        def serve():
            while True:
                try:
                    connection, _address = listener.accept()
                except OSError:  # shut down: the test is over
                    return
                with connection:
                    try:
                        connection.recv(65536)
                        handle(connection)
                    except ConnectionResetError:  # the client hung up with bytes unread
                        pass

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        yield 'http://127.0.0.1:%d' % listener.getsockname()[1]
        listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        thread.join(5)


def reset(connection):
    # Lingering 0 s, the close sends a reset instead of an orderly end.
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))


def hang_up(connection):
    pass


def break_off_the_answer(connection):
    connection.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nssh-ed25519 ')


def answer_in_plain_http(connection):
    connection.sendall(b'HTTP/1.1 400 Bad Request\r\n\r\n')
    while connection.recv(65536):  # until the client gives up on it
        pass


def test_a_name_that_does_not_resolve(tmp_path):
    # .invalid is reserved: resolvers answer that it does not exist, with no query sent out.
    started = time.monotonic()
    assert network_failure(tmp_path, 'http://no-such-host.invalid') == (
        'DNS name not found: check the host name in the URL, and your network')
    assert time.monotonic() - started < 5


def test_a_refused_connection(tmp_path):
    assert network_failure(tmp_path, 'http://127.0.0.1:%d' % closed_port()) == (
        'connection refused: is the server up, and the port in the URL right?')


def test_no_answer_in_time(tmp_path):
    # It listens but never accepts: the kernel completes the handshake, and nothing answers.
    with socket.create_server(('127.0.0.1', 0)) as silent:
        started = time.monotonic()
        assert network_failure(tmp_path, 'http://127.0.0.1:%d' % silent.getsockname()[1], timeout=0.5) == (
            'no answer within 0.5 s (timeout): try again later, or raise timeout')
    assert time.monotonic() - started < 3


def test_no_connection_in_time(tmp_path):
    # Its backlog of one is full and nobody accepts: Linux drops further handshakes, as a firewall would.
    with socket.create_server(('127.0.0.1', 0), backlog=0) as full:
        port = full.getsockname()[1]
        waiting = [socket.socket() for _each in range(2)]
        for client in waiting:
            client.setblocking(False)
            client.connect_ex(('127.0.0.1', port))
        try:
            assert network_failure(tmp_path, 'http://127.0.0.1:%d' % port, timeout=0.5) == (
                'no connection within 0.5 s (timeout): is the server up? check your network and firewall')
        finally:
            for client in waiting:
                client.close()


def test_an_untrusted_certificate(untrusted_tls_server, tmp_path):
    assert network_failure(tmp_path, untrusted_tls_server.url) == (
        'TLS certificate not trusted (self-signed certificate): check the clock and the CA bundle '
        '(REQUESTS_CA_BUNDLE)')
    assert untrusted_tls_server.total() == 0


def test_a_tls_handshake_with_a_plain_http_server(tmp_path):
    with tcp_server(answer_in_plain_http) as url:
        assert network_failure(tmp_path, url.replace('http://', 'https://')) == (
            'TLS handshake failed (WRONG_VERSION_NUMBER): is the server https on that port? '
            'a proxy or firewall in between may interfere')


def test_a_reset_connection(tmp_path):
    with tcp_server(reset) as url:
        assert network_failure(tmp_path, url) == (
            'connection reset: try again; if it persists, a proxy or firewall in between may be cutting it')


def test_a_connection_closed_without_an_answer(tmp_path):
    with tcp_server(hang_up) as url:
        assert network_failure(tmp_path, url) == (
            "the server closed the connection without answering: try again; is the URL's port an HTTP server?")


def test_an_answer_that_breaks_off(tmp_path):
    with tcp_server(break_off_the_answer) as url:
        assert network_failure(tmp_path, url) == 'the answer broke off: try again'


def test_other_request_failures_name_requests_error_type(tmp_path):
    assert network_failure(tmp_path, 'http://127.0.0.1:99999') == (
        'the request failed (InvalidURL): check the URL, then try again')


def test_a_redirect_loop(server, tmp_path):
    server.set('/alice.keys', 302, '', {'Location': '/alice.keys'})
    assert network_failure(tmp_path, server.url) == (
        'too many redirects (more than 30): check the URL, which redirects in a loop')


def test_a_proxy_that_is_not_there(tmp_path, monkeypatch):
    monkeypatch.setenv('http_proxy', 'http://127.0.0.1:%d' % closed_port())
    # The proxy would look the name up: this one is never asked.
    assert network_failure(tmp_path, 'http://no-such-host.invalid') == (
        'the proxy failed (connection refused): check the proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)')


def test_a_proxy_that_does_not_tunnel(server, tmp_path, monkeypatch):
    monkeypatch.setenv('https_proxy', server.url)  # it answers CONNECT with HTTP 501
    assert network_failure(tmp_path, 'https://no-such-host.invalid') == (
        'the proxy failed: check the proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)')
