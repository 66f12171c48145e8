"""Fetching keys on the controller, against a local HTTP server that answers like GitHub."""

import multiprocessing
import time

import pytest
from keyserver import KeyServer

from ansible_collections.pairing.tmux.plugins.module_utils.authorized_keys import DEFAULT_KEY_TYPES
from ansible_collections.pairing.tmux.plugins.module_utils.managed_keys import Guest
from ansible_collections.pairing.tmux.plugins.plugin_utils.key_sources import KeySourceError, KeySources


@pytest.fixture
def server():
    with KeyServer() as running:
        yield running


def sources(server, tmp_path, **options):
    return KeySources(str(tmp_path), github_url=server.url, **options)


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
    source = KeySources(str(tmp_path), github_url='http://127.0.0.1:9', gitlab_url=server.url)
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


def test_timeout(server, tmp_path, ed25519_lines):
    server.set('/alice.keys', 200, ed25519_lines[0], delay=3)
    started = time.monotonic()
    with pytest.raises(KeySourceError, match=r'no answer within 0.5 s \(timeout\)'):
        fetch(server, tmp_path, timeout=0.5)
    assert time.monotonic() - started < 3


def test_unreachable_server(tmp_path):
    source = KeySources(str(tmp_path), github_url='http://127.0.0.1:9')
    with pytest.raises(KeySourceError, match=r'user alice .*: request failed'):
        source.keys(Guest.from_spec('alice'), DEFAULT_KEY_TYPES)


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
    KeySources(cache_dir, github_url=url).keys(Guest.from_spec('alice'), DEFAULT_KEY_TYPES)


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
