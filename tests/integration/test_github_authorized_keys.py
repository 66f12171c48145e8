"""pairing.tmux.github_authorized_keys on a real Debian test host, keys served by a local HTTP server."""

import hashlib
import os

import pytest
from ansible_run import run_module
from keyserver import KeyServer

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason='test hosts need root'),
              pytest.mark.parametrize('testhosts', [('keys',)], indirect=True)]

OWNER = ("# the owner's own lines: never touched\n"
         'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGz4yBfcQ0F9J/XuoPwKCBXTn4kxOrRj0FqViR1E5AFM me\n')


@pytest.fixture(scope='module')
def host(testhosts):
    host = testhosts['keys']
    host.run('id tmux || useradd --system --create-home --shell /bin/sh tmux')
    return host


@pytest.fixture
def server(ed25519_lines):
    with KeyServer() as running:
        running.publish('alice', ed25519_lines[:2])
        running.publish('bob', ed25519_lines[2:3])
        running.publish('carol', ed25519_lines[3:4])
        yield running


def converge(host, server, check=False, diff=False, **args):
    args.setdefault('github_url', server.url)
    args.setdefault('allow_http', True)  # the key server speaks plain http
    return run_module(host, 'pairing.tmux.github_authorized_keys', args, check=check, diff=diff)


def read(host, path):
    return host.run('cat %s' % path).stdout


def sha(host, path):
    return hashlib.sha256(read(host, path).encode()).hexdigest()


def managed_line(key_line, user, read_only=False):
    keytype, data = key_line.split()[:2]
    return 'restrict,pty,command="tmux attach -t pairing" %s %s pairing.tmux:github:%s%s' % (
        keytype, data, user, ':ro' if read_only else '')


def test_guests_in_owner_lines_kept_mode_owner_and_idempotence(host, server, ed25519_lines):
    path = '/home/tmux/.ssh/authorized_keys'
    host.run('rm -rf /home/tmux/.ssh && mkdir -m 700 /home/tmux/.ssh && printf %%s "%s" > %s && chown -R tmux: '
             '/home/tmux/.ssh && chmod 600 %s' % (OWNER, path, path))
    users = ['alice', {'name': 'bob', 'read_only': True}]
    run, record = converge(host, server, users=users, user='tmux')
    assert record['status'] == 'changed', run.output
    assert read(host, path) == OWNER + ''.join(line + '\n' for line in (
        managed_line(ed25519_lines[0], 'alice'), managed_line(ed25519_lines[1], 'alice'),
        managed_line(ed25519_lines[2], 'bob', read_only=True)))
    assert record['result']['added'] == 3 and record['result']['removed'] == 0
    assert host.run('stat -c "%%U %%a" %s' % path).stdout.split() == ['tmux', '600']

    run, record = converge(host, server, users=users, user='tmux')
    assert record['status'] == 'ok', run.output
    assert record['result']['users']['alice'] == {'added': [], 'removed': [], 'changed': [], 'keys': 2}


def test_new_file_owner_mode_and_directory(host, server):
    path = '/etc/ssh/pairing/authorized_keys'
    host.run('rm -rf /etc/ssh/pairing')
    run, record = converge(host, server, users=['carol'], path=path, owner='root', mode='0644')
    assert record['status'] == 'failed'
    assert record['result']['msg'] == 'directory /etc/ssh/pairing does not exist (create it, or set manage_dir: true)'
    run, record = converge(host, server, users=['carol'], path=path, owner='root', mode='0644', manage_dir=True)
    assert record['status'] == 'changed', run.output
    assert host.run('stat -c "%%U %%a" %s %s' % (path, os.path.dirname(path))).stdout.split() == [
        'root', '644', 'root', '700']


def test_check_mode_and_diff_change_nothing(host, server, ed25519_lines):
    path = '/etc/ssh/pairing/authorized_keys'
    host.run('mkdir -p /etc/ssh/pairing && printf %%s "%s" > %s' % (OWNER, path))
    before = sha(host, path)
    run, record = converge(host, server, check=True, diff=True, users=['carol'], path=path)
    assert record['status'] == 'changed', run.output
    assert sha(host, path) == before
    assert record['result']['diff']['before'] == OWNER
    assert record['result']['diff']['after'] == OWNER + managed_line(ed25519_lines[3], 'carol') + '\n'
    assert '+' + managed_line(ed25519_lines[3], 'carol') in run.output


def test_symlinked_file_or_directory_is_refused(host, server):
    host.run('mkdir -p /srv/real && printf %%s "%s" > /srv/real/keys && ln -sfn /srv/real /srv/linkdir '
             '&& ln -sf /srv/real/keys /srv/real/link' % OWNER)
    for path, what in (('/srv/real/link', 'file'), ('/srv/linkdir/keys', 'directory')):
        run, record = converge(host, server, users=['carol'], path=path)
        assert record['status'] == 'failed', run.output
        assert record['result']['msg'] == '%s is a symbolic link: refusing to follow it (replace it with a real %s)' % (
            path if what == 'file' else os.path.dirname(path), what)
    assert read(host, '/srv/real/keys') == OWNER


def test_a_failing_source_changes_nothing_and_names_the_user(host, server):
    path = '/srv/failclosed'
    converge(host, server, users=['alice', 'bob'], path=path, exclusive=True)
    before = sha(host, path)
    server.set('/bob.keys', 500, 'Internal Server Error')
    record = converge(host, server, users=['alice', 'bob'], path=path, exclusive=True)[1]
    assert record['status'] == 'failed'
    assert record['result']['msg'] == ('user bob (%s/bob.keys): the server answered HTTP 500 Internal Server Error'
                                       ' - nothing was changed' % server.url)
    assert sha(host, path) == before
    assert server.requests['/alice.keys'] == 2  # two runs, one request each


def test_revoke_one_then_all_by_marker(host, server, ed25519_lines):
    path = '/srv/revoke'
    host.run('printf %%s "%s" > %s' % (OWNER, path))
    converge(host, server, users=['alice', 'bob', 'carol'], path=path)
    run, record = converge(host, server, users=['bob'], state='absent', path=path)
    assert record['status'] == 'changed', run.output
    assert 'pairing.tmux:github:bob' not in read(host, path)
    assert record['result']['users']['bob']['removed'] and server.requests.get('/bob.keys') == 1
    run, record = converge(host, server, users=[], exclusive=True, path=path)
    assert read(host, path) == OWNER
    assert record['result']['removed'] == 3


def test_bad_names_are_refused_before_any_request(host, server):
    record = converge(host, server, users=['alice/../bob'], path='/srv/names')[1]
    assert record['status'] == 'failed'
    assert "'alice/../bob' is not a valid GitHub user name" in record['result']['msg']
    assert server.total() == 0


def test_inline_keys_need_no_network(host, ed25519_lines):
    class Nowhere:
        url = 'http://127.0.0.1:9'
    run, record = converge(host, Nowhere, users=['erin'], path='/srv/inline', keys={'erin': [ed25519_lines[5]]})
    assert record['status'] == 'changed', run.output
    assert read(host, '/srv/inline') == managed_line(ed25519_lines[5], 'erin') + '\n'
