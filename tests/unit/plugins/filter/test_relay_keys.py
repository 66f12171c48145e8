"""The relay_keys filter: the relay's key lines, each read by the collection's key parser."""

import subprocess

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pairing.tmux.plugins.filter.relay_keys import relay_keys

OPTIONS = 'restrict,port-forwarding,permitlisten="0.0.0.0:%d",command="/bin/false"'


def bare(line):
    return ' '.join(line.split()[:2])


def relay_line(line, port):
    return '%s %s pairing.tmux:tunnel' % (OPTIONS % port, bare(line))


@pytest.fixture(scope='module')
def weak_rsa(tmp_path_factory):
    path = tmp_path_factory.mktemp('rsa') / 'weak'
    subprocess.run(['ssh-keygen', '-q', '-t', 'rsa', '-b', '1024', '-N', '', '-f', str(path)], check=True)
    return bare(path.with_suffix('.pub').read_text())


def test_no_tunnel_yet_is_no_line():
    assert relay_keys([]) == relay_keys(None) == []


def test_a_plain_key_listens_on_the_default_port_and_its_comment_becomes_the_marker(ed25519_lines):
    assert relay_keys([ed25519_lines[0]], 2222) == [relay_line(ed25519_lines[0], 2222)]
    assert relay_keys([bare(ed25519_lines[0])]) == [relay_line(ed25519_lines[0], 2222)]


def test_a_team_each_on_its_own_port_in_the_order_given(ed25519_lines):
    tunnels = [{'key': bare(ed25519_lines[1]), 'port': 2201}, {'key': bare(ed25519_lines[2]), 'port': '2202'},
               {'key': bare(ed25519_lines[3])}, bare(ed25519_lines[4])]
    assert relay_keys(tunnels[:3], 2300) == [relay_line(ed25519_lines[1], 2201), relay_line(ed25519_lines[2], 2202),
                                             relay_line(ed25519_lines[3], 2300)]
    with pytest.raises(AnsibleFilterError, match=r'tunnel 4 .*port 2300 is also tunnel 3\'s'):
        relay_keys(tunnels, 2300)


def test_the_lines_are_what_sshd_reads(ed25519_lines, tmp_path):
    # ssh-keygen reads an authorized_keys file, options and all: every line is one key.
    path = tmp_path / 'authorized_keys'
    lines = relay_keys([{'key': ed25519_lines[5], 'port': 2201}, {'key': ed25519_lines[6], 'port': 2202}])
    path.write_text(''.join(line + '\n' for line in lines))
    listed = subprocess.run(['ssh-keygen', '-l', '-f', str(path)], capture_output=True, text=True, check=True)
    assert [line.split()[-2] for line in listed.stdout.splitlines()] == ['pairing.tmux:tunnel'] * 2


BAD_KEYS = {
    'truncated base64': (lambda line, rsa: line.split()[0] + ' ' + line.split()[1][:-8],
                         'ssh-ed25519 key data'),
    'weak RSA': (lambda line, rsa: rsa, 'RSA key of 1024 bits is too weak'),
    'DSA': (lambda line, rsa: 'ssh-dss AAAAB3NzaC1kc3M=', 'key type ssh-dss is not accepted'),
    'type and data disagree': (lambda line, rsa: 'ssh-rsa ' + line.split()[1],
                               'declared key type ssh-rsa does not match the key data'),
    'options smuggled in': (lambda line, rsa: 'permitopen="*:*" ' + bare(line), 'a tunnel key carries no options'),
    'a second line': (lambda line, rsa: bare(line) + '\n' + bare(line), 'newline'),
    'empty': (lambda line, rsa: '', 'no key'),
    'not a key': (lambda line, rsa: 'hello', 'invalid key options'),
}


@pytest.mark.parametrize('case', sorted(BAD_KEYS))
def test_a_bad_key_fails_in_one_line_naming_the_tunnel_the_reason_and_the_fix(ed25519_lines, weak_rsa, case):
    make, reason = BAD_KEYS[case]
    with pytest.raises(AnsibleFilterError, match=reason) as failure:
        relay_keys([ed25519_lines[0], {'key': make(ed25519_lines[7], weak_rsa), 'port': 2201}])
    message = str(failure.value)
    assert message.startswith('relay_keys: tunnel 2 (')
    assert message.endswith("give the pairing host's tunnel public key, TYPE BASE64 "
                            '(hostvars[HOST].pairing_tunnel_public_key)')
    assert '\n' not in message


def test_a_private_key_is_refused_and_never_shown(tmp_path):
    path = tmp_path / 'tunnel'
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(path)], check=True)
    secret = path.read_text()
    with pytest.raises(AnsibleFilterError) as failure:
        relay_keys([secret])
    assert str(failure.value) == ("relay_keys: tunnel 1 (a private key): that is a private key: "
                                  "give the public one (the .pub file's line)")


@pytest.mark.parametrize('port, reason', [
    (0, 'port 0 is not a TCP port'),
    (65536, 'port 65536 is not a TCP port'),
    (22, 'port 22 is privileged, and the tunnel account is not root'),
    ('22x', "port '22x' is not a number"),
    (True, 'port True is not a number'),
    (2.5, 'port 2.5 is not a number'),
])
def test_a_bad_port_fails_naming_the_tunnel(ed25519_lines, port, reason):
    with pytest.raises(AnsibleFilterError) as failure:
        relay_keys([{'key': ed25519_lines[0], 'port': port}])
    assert str(failure.value) == ('relay_keys: tunnel 1 (%s...): %s: give a port from 1024 to 65535 '
                                  '(pairing_relay_port, or port: N for this tunnel)'
                                  % (bare(ed25519_lines[0])[:37], reason))


def test_a_bad_default_port_fails_for_the_first_tunnel_that_uses_it(ed25519_lines):
    assert relay_keys([{'key': ed25519_lines[0], 'port': 2201}], 80) == [relay_line(ed25519_lines[0], 2201)]
    with pytest.raises(AnsibleFilterError, match=r'tunnel 2 .*port 80 is privileged'):
        relay_keys([{'key': ed25519_lines[0], 'port': 2201}, ed25519_lines[1]], 80)


def test_the_same_key_twice_is_refused_whatever_its_comment(ed25519_lines):
    with pytest.raises(AnsibleFilterError, match=r'tunnel 2 .*the same key as tunnel 1: list each pairing host once'):
        relay_keys([{'key': ed25519_lines[0], 'port': 2201}, {'key': bare(ed25519_lines[0]) + ' other', 'port': 2202}])


def test_other_shapes_are_refused(ed25519_lines):
    with pytest.raises(AnsibleFilterError, match=r"tunnel 1 .*unknown field prot: a tunnel is a key, or a dict"):
        relay_keys([{'key': ed25519_lines[0], 'prot': 2201}])
    with pytest.raises(AnsibleFilterError, match=r'tunnel 1 .*: no key'):
        relay_keys([{'port': 2201}])
    with pytest.raises(AnsibleFilterError, match='wrap a single key in a list'):
        relay_keys(ed25519_lines[0])
