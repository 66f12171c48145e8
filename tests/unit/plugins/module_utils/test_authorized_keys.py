"""authorized_keys line parsing, checked against the real ssh-keygen."""

import base64
import os
import struct
import subprocess

import pytest

from ansible_collections.pairing.tmux.plugins.module_utils.authorized_keys import (
    DEFAULT_KEY_TYPES,
    KeyLineError,
    parse_line,
    render_line,
    render_options,
)

# ssh-keygen arguments for every accepted type it can make without a security key.
GENERATED = {
    'ed25519': ['-t', 'ed25519'],
    'ecdsa256': ['-t', 'ecdsa', '-b', '256'],
    'ecdsa384': ['-t', 'ecdsa', '-b', '384'],
    'ecdsa521': ['-t', 'ecdsa', '-b', '521'],
    'rsa2048': ['-t', 'rsa', '-b', '2048'],
    'rsa3072': ['-t', 'rsa', '-b', '3072'],
    'rsa4096': ['-t', 'rsa', '-b', '4096'],
    'rsa1024': ['-t', 'rsa', '-b', '1024'],
    'dsa': ['-t', 'dsa'],
}
REFUSED = ('rsa1024', 'dsa')


def ssh_string(data):
    return struct.pack('>I', len(data)) + data


def blob_line(keytype, *fields, comment='made-up'):
    blob = ssh_string(keytype.encode()) + b''.join(ssh_string(field) for field in fields)
    return '%s %s %s' % (keytype, base64.b64encode(blob).decode(), comment)


def fields_of(line):
    """The SSH strings inside a public key line's blob."""
    blob = base64.b64decode(line.split()[1])
    fields = []
    while blob:
        (length,) = struct.unpack('>I', blob[:4])
        fields.append(blob[4:4 + length])
        blob = blob[4 + length:]
    return fields


@pytest.fixture(scope='module')
def keys(tmp_path_factory):
    """Public key lines made by ssh-keygen during this run, plus security-key lines built
    from the wire format (ssh-keygen needs a FIDO token to make those, not to read them)."""
    directory = tmp_path_factory.mktemp('keys')
    lines = {}
    for name, args in GENERATED.items():
        path = directory / name
        subprocess.run(['ssh-keygen', '-q', '-N', '', '-C', '%s@test host' % name, '-f', str(path), *args],
                       check=True)
        lines[name] = (directory / (name + '.pub')).read_text().strip()
    lines['sk-ed25519'] = blob_line('sk-ssh-ed25519@openssh.com', os.urandom(32), b'ssh:')
    curve, point = fields_of(lines['ecdsa256'])[1:]
    lines['sk-ecdsa256'] = blob_line('sk-ecdsa-sha2-nistp256@openssh.com', curve, point, b'ssh:pairing')
    return lines


def ssh_keygen_describe(tmp_path, line):
    path = tmp_path / 'key.pub'
    path.write_text(line + '\n')
    return subprocess.run(['ssh-keygen', '-lf', str(path)], check=True, capture_output=True,
                          text=True).stdout.strip()


ACCEPTED = [name for name in GENERATED if name not in REFUSED] + ['sk-ed25519', 'sk-ecdsa256']


@pytest.mark.parametrize('name', ACCEPTED)
def test_fingerprint_and_bits_match_ssh_keygen(keys, tmp_path, name):
    key = parse_line(keys[name])
    assert key.keytype in DEFAULT_KEY_TYPES
    assert key.describe() == ssh_keygen_describe(tmp_path, keys[name])


@pytest.mark.parametrize('name', ACCEPTED)
def test_options_do_not_change_the_key(keys, tmp_path, name):
    line = 'restrict,pty,command="tmux attach -t pairing" ' + keys[name]
    key = parse_line(line)
    assert key.options == (('restrict', None), ('pty', None), ('command', 'tmux attach -t pairing'))
    assert key.describe() == ssh_keygen_describe(tmp_path, line)
    assert key.render() == line


def test_rsa_bit_lengths(keys):
    assert [parse_line(keys['rsa%d' % bits]).bits for bits in (2048, 3072, 4096)] == [2048, 3072, 4096]


def test_quoted_commas_and_escaped_quotes(keys):
    line = 'command="echo \\"a, b\\"",from="10.0.0.1,10.0.0.2",no-pty ' + keys['ed25519']
    key = parse_line(line)
    assert key.options == (
        ('command', 'echo "a, b"'),
        ('from', '10.0.0.1,10.0.0.2'),
        ('no-pty', None),
    )
    assert key.render() == line


def test_backslash_is_literal_unless_before_a_quote(keys):
    key = parse_line('command="a\\b \\\\\\"c" ' + keys['ed25519'])
    assert key.options == (('command', 'a\\b \\\\"c'),)
    assert parse_line(key.render()) == key


def test_comment_keeps_inner_spaces_and_may_be_absent(keys):
    keytype, data = keys['ed25519'].split()[:2]
    assert parse_line('%s %s  my  laptop ' % (keytype, data)).comment == 'my  laptop'
    bare = parse_line('\t%s %s' % (keytype, data))
    assert bare.comment == ''
    assert bare.render() == '%s %s' % (keytype, data)


def test_identity_ignores_options_and_comment(keys):
    keytype, data = keys['ed25519'].split()[:2]
    assert parse_line('restrict %s %s a' % (keytype, data)).identity == parse_line('%s %s b' % (keytype, data)).identity


def test_render_line_from_parts(keys):
    keytype, data = keys['ecdsa384'].split()[:2]
    line = render_line([('restrict', None), ('expiry-time', '202612312359')], keytype, data, 'alice')
    assert line == 'restrict,expiry-time="202612312359" %s %s alice' % (keytype, data)
    assert parse_line(line).key_b64 == data


def test_key_types_and_rsa_minimum_are_configurable(keys):
    with pytest.raises(KeyLineError, match='ssh-rsa is not accepted'):
        parse_line(keys['rsa4096'], key_types=('ssh-ed25519',))
    assert parse_line(keys['rsa1024'], min_rsa_bits=1024).bits == 1024
    assert parse_line(keys['dsa'], key_types=('ssh-dss',)).bits == 1024


def corrupt(keys, name, transform):
    keytype, data, comment = keys[name].split(None, 2)
    return '%s %s %s' % (keytype, transform(data), comment)


def with_blob(keys, name, transform):
    return corrupt(keys, name, lambda data: base64.b64encode(transform(base64.b64decode(data))).decode())


REJECTIONS = {
    'dsa': (lambda k: k['dsa'], 'ssh-dss is not accepted'),
    'rsa below 2048 bits': (lambda k: k['rsa1024'], 'RSA key of 1024 bits is too weak'),
    'truncated base64': (lambda k: corrupt(k, 'ed25519', lambda d: d[:-8]), 'not valid base64|truncated'),
    'truncated blob': (lambda k: with_blob(k, 'rsa2048', lambda b: b[:-20]), 'ssh-rsa key data is truncated'),
    'invalid base64': (lambda k: corrupt(k, 'ed25519', lambda d: d[:10] + '*' + d[11:]), 'not valid base64'),
    'missing key data': (lambda k: 'ssh-ed25519', 'has no key data'),
    'type mismatch': (lambda k: 'ssh-rsa ' + k['ed25519'].split()[1],
                      r'declared key type ssh-rsa does not match the key data \(ssh-ed25519\)'),
    'curve mismatch': (lambda k: 'ecdsa-sha2-nistp384 ' + k['ecdsa256'].split()[1], 'does not match the key data'),
    'trailing bytes': (lambda k: with_blob(k, 'ed25519', lambda b: b + b'\0'), 'trailing bytes'),
    'short ed25519 key': (lambda k: blob_line('ssh-ed25519', b'\1' * 31), 'wrong length'),
    'unknown type': (lambda k: 'ssh-foo AAAA', "unknown key type 'ssh-foo'"),
    'newline': (lambda k: k['ed25519'] + '\n', 'newline, NUL or other control character'),
    'embedded newline': (lambda k: k['ed25519'] + '\n' + k['ecdsa256'], 'newline, NUL or other control character'),
    'NUL': (lambda k: k['ed25519'].replace(' ', '\0', 1), 'newline, NUL or other control character'),
    'escape character': (lambda k: k['ed25519'] + '\x1b[31m', 'control character'),
    'HTML page': (lambda k: '<!DOCTYPE html>', 'got HTML'),
    'empty line': (lambda k: '', 'empty line where a key was expected'),
    'blank line': (lambda k: '  \t ', 'empty line where a key was expected'),
    'comment line': (lambda k: '# ' + k['ed25519'], 'a comment line'),
    'unterminated quote': (lambda k: 'command="tmux ' + k['ed25519'], 'invalid key options'),
    'escaped closing quote': (lambda k: 'command="tmux\\" ' + k['ed25519'], 'invalid key options'),
    'junk after option': (lambda k: 'command="a"b ' + k['ed25519'], 'invalid key options'),
    'prose': (lambda k: 'Not Found', 'not an SSH public key'),
    'prose with punctuation': (lambda k: 'Error: rate limited', 'invalid key options'),
}


@pytest.mark.parametrize('case', sorted(REJECTIONS))
def test_rejections_give_a_reason(keys, case):
    make_line, reason = REJECTIONS[case]
    with pytest.raises(KeyLineError, match=reason):
        parse_line(make_line(keys))


@pytest.mark.parametrize('options, reason', [
    ([('command', 'ends in \\')], 'must not end with a backslash'),
    ([('command', 'two\nlines')], 'newline or control character'),
    ([('bad name', None)], 'invalid option name'),
])
def test_render_refuses_what_sshd_would_misread(options, reason):
    with pytest.raises(KeyLineError, match=reason):
        render_options(options)


def test_render_refuses_control_characters_in_the_comment(keys):
    keytype, data = keys['ed25519'].split()[:2]
    with pytest.raises(KeyLineError, match='control character'):
        render_line((), keytype, data, 'evil\rcomment')
