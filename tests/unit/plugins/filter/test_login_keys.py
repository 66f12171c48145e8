"""pairing.tmux.login_keys: which lines of an owner's authorized_keys open an interactive login."""

import subprocess

import pytest

from ansible_collections.pairing.tmux.plugins.filter.login_keys import login_keys


@pytest.fixture(scope='module')
def key(tmp_path_factory):
    path = tmp_path_factory.mktemp('keys') / 'owner'
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'owner', '-f', str(path)], check=True)
    public = (path.parent / 'owner.pub').read_text().strip()
    fingerprint = subprocess.run(['ssh-keygen', '-lf', str(path) + '.pub'], capture_output=True, text=True,
                                 check=True).stdout.split()[1]
    return public, fingerprint


def test_a_plain_key_opens_a_login(key):
    public, fingerprint = key
    assert login_keys('# mine\n\n' + public + '\n') == [fingerprint]


@pytest.mark.parametrize('options', [
    'command="/usr/bin/backup"',
    'from="10.0.0.1"',
    'restrict',
    'no-pty',
    'expiry-time="20990101"',
    'cert-authority',
    'principals="ops"',
    'restrict,port-forwarding',
    'Command="/bin/true"',
])
def test_a_restricted_key_is_no_way_in(key, options):
    assert login_keys('%s %s\n' % (options, key[0])) == []


def test_restrict_with_the_terminal_given_back_is_a_way_in(key):
    public, fingerprint = key
    assert login_keys('restrict,pty ' + public) == [fingerprint]


@pytest.mark.parametrize('text', ['', None, 'ssh-ed25519 AAAAnotakey', 'garbage line', 'ssh-dss AAAAB3NzaC1kc3M='])
def test_what_cannot_be_read_is_no_way_in(text):
    assert login_keys(text) == []
