# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse, validate and render one OpenSSH ``authorized_keys`` line.

Shared by the controller (validating keys fetched from GitHub) and the target
(editing the keys file), so both judge a line by the same rules.  The format is
the one sshd(8) documents under "AUTHORIZED_KEYS FILE FORMAT":
``[options] keytype base64-blob [comment]``.
"""

import base64
import binascii
import hashlib
import re
import struct
from collections import namedtuple

# What ssh-keygen -lf prints in brackets, and how the blob after the type name is laid out:
# each field is an SSH "string" or "mpint" (uint32 length + bytes).
_KEY_LAYOUTS = {
    'ssh-ed25519': ('ED25519', ('string',)),
    'ecdsa-sha2-nistp256': ('ECDSA', ('string', 'string')),
    'ecdsa-sha2-nistp384': ('ECDSA', ('string', 'string')),
    'ecdsa-sha2-nistp521': ('ECDSA', ('string', 'string')),
    'sk-ssh-ed25519@openssh.com': ('ED25519-SK', ('string', 'string')),
    'sk-ecdsa-sha2-nistp256@openssh.com': ('ECDSA-SK', ('string', 'string', 'string')),
    'ssh-rsa': ('RSA', ('mpint', 'mpint')),
    'ssh-dss': ('DSA', ('mpint', 'mpint', 'mpint', 'mpint')),
}

DEFAULT_KEY_TYPES = (
    'ssh-ed25519',
    'ecdsa-sha2-nistp256',
    'ecdsa-sha2-nistp384',
    'ecdsa-sha2-nistp521',
    'sk-ssh-ed25519@openssh.com',
    'sk-ecdsa-sha2-nistp256@openssh.com',
    'ssh-rsa',
)
MIN_RSA_BITS = 2048
# Every type this parser understands, refused ones included: for reading existing files.
KNOWN_KEY_TYPES = tuple(_KEY_LAYOUTS)

_ECDSA_CURVES = {'nistp256': 256, 'nistp384': 384, 'nistp521': 521}
_ED25519_PUBLIC_KEY_LEN = 32
# Any "word" in the key-type position, so that a key of an unknown or refused type is
# reported as such instead of being mistaken for options.
_KEY_TYPE_SHAPE = re.compile(r'^(ssh-|ecdsa-|sk-)[A-Za-z0-9@.+-]+$')
_OPTION_NAME = re.compile(r'^[A-Za-z0-9-]+$')
# name or name="value"; inside the quotes sshd reads only \" as an escape, so a backslash is
# never allowed to swallow the closing quote.
_OPTION = re.compile(r'([A-Za-z0-9-]+)(?:="((?:\\"|\\(?!")|[^"\\])*)")?')
_FORBIDDEN_CHARS = re.compile(r'[\x00-\x08\x0a-\x1f\x7f]')


class KeyLineError(ValueError):
    """A line that is not an acceptable authorized_keys entry; the message says why."""


class AuthorizedKey(namedtuple('AuthorizedKey', 'options keytype blob comment')):
    """One parsed line.

    ``options`` is a tuple of ``(name, value)`` pairs, value ``None`` for a flag such as
    ``restrict``; ``blob`` is the decoded key bytes; ``comment`` may be empty.
    """

    __slots__ = ()

    @property
    def key_b64(self):
        return base64.b64encode(self.blob).decode('ascii')

    @property
    def identity(self):
        """The part sshd matches on: two lines with the same identity are the same key."""
        return '%s %s' % (self.keytype, self.key_b64)

    @property
    def fingerprint(self):
        """SHA256 fingerprint, exactly as ``ssh-keygen -lf`` prints it."""
        digest = base64.b64encode(hashlib.sha256(self.blob).digest()).decode('ascii')
        return 'SHA256:' + digest.rstrip('=')

    @property
    def bits(self):
        return _key_bits(self.keytype, _unpack_blob(self.keytype, self.blob))

    @property
    def type_label(self):
        return _KEY_LAYOUTS[self.keytype][0]

    def describe(self):
        """The line ``ssh-keygen -lf`` prints for this key."""
        return '%d %s %s (%s)' % (self.bits, self.fingerprint, self.comment or 'no comment', self.type_label)

    def render(self):
        return render_line(self.options, self.keytype, self.key_b64, self.comment)


def render_options(options):
    """``[('restrict', None), ('command', 'a "b"')]`` -> ``restrict,command="a \\"b\\""``."""
    rendered = []
    for name, value in options:
        if not _OPTION_NAME.match(name or ''):
            raise KeyLineError('invalid option name %r' % (name,))
        if value is None:
            rendered.append(name)
            continue
        if _FORBIDDEN_CHARS.search(value):
            raise KeyLineError('option %s contains a newline or control character' % name)
        if value.endswith('\\'):
            # sshd would read the closing quote as escaped and the line would not parse.
            raise KeyLineError('option %s must not end with a backslash' % name)
        rendered.append('%s="%s"' % (name, value.replace('"', '\\"')))
    return ','.join(rendered)


def render_line(options, keytype, key_b64, comment=''):
    parts = [render_options(options)] if options else []
    parts.extend([keytype, key_b64])
    if comment:
        parts.append(comment)
    line = ' '.join(parts)
    if _FORBIDDEN_CHARS.search(line):
        raise KeyLineError('a key line must not contain a newline or control character')
    return line


def parse_line(line, key_types=DEFAULT_KEY_TYPES, min_rsa_bits=MIN_RSA_BITS):
    """Parse and validate one line; raise KeyLineError with a reason a person can act on."""
    if _FORBIDDEN_CHARS.search(line):
        raise KeyLineError('the line contains a newline, NUL or other control character')
    text = line.strip(' \t')
    if not text:
        raise KeyLineError('empty line where a key was expected')
    if text.startswith('<'):
        raise KeyLineError('got HTML, not an SSH public key (wrong URL, or a login/error page?)')
    if text.startswith('#'):
        raise KeyLineError('a comment line, not a key')

    options, rest = ((), text) if _KEY_TYPE_SHAPE.match(_split_word(text)[0]) else _parse_options(text)
    keytype, rest = _split_word(rest)
    key_b64, comment = _split_word(rest)

    if keytype not in _KEY_LAYOUTS:
        if _KEY_TYPE_SHAPE.match(keytype):
            raise KeyLineError('unknown key type %r' % (keytype[:64],))
        raise KeyLineError('not an SSH public key (expected "[options] type base64-key [comment]")')
    if keytype not in key_types:
        raise KeyLineError('key type %s is not accepted (accepted: %s)' % (keytype, ', '.join(key_types)))
    if not key_b64:
        raise KeyLineError('%s key has no key data' % keytype)
    try:
        blob = base64.b64decode(key_b64.encode('ascii'), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise KeyLineError('%s key data is not valid base64 (truncated or corrupted?)' % keytype) from None

    fields = _unpack_blob(keytype, blob)
    _check_fields(keytype, fields)
    bits = _key_bits(keytype, fields)
    if keytype == 'ssh-rsa' and bits < min_rsa_bits:
        raise KeyLineError('RSA key of %d bits is too weak (at least %d bits required)' % (bits, min_rsa_bits))
    return AuthorizedKey(options, keytype, blob, comment)


def _split_word(text):
    """First whitespace-separated word and the stripped rest."""
    parts = text.split(None, 1)
    if not parts:
        return '', ''
    return parts[0], (parts[1].strip(' \t') if len(parts) > 1 else '')


def parse_options(text):
    """``restrict,command="a b"`` -> ``(('restrict', None), ('command', 'a b'))``."""
    if not text:
        return ()
    if _FORBIDDEN_CHARS.search(text):
        raise KeyLineError('key options contain a newline or control character')
    options, rest = _parse_options(text + ' ')
    if rest:
        raise KeyLineError('invalid key options near %r' % (rest[:32],))
    return options


def _parse_options(text):
    """Read the options at the start of ``text``; return them and the rest of the line."""
    options = []
    pos = 0
    while True:
        match = _OPTION.match(text, pos)
        separator = text[match.end():match.end() + 1] if match else ''
        if separator not in (',', ' ', '\t'):
            raise KeyLineError('invalid key options (or an unknown key type) near %r' % (text[pos:pos + 32],))
        name, value = match.groups()
        options.append((name, None if value is None else value.replace('\\"', '"')))
        pos = match.end() + 1
        if separator != ',':
            return tuple(options), text[pos:].strip(' \t')


def _unpack_blob(keytype, blob):
    """Split the blob into its fields; its embedded type must be the declared one."""
    offset = 0
    fields = []
    for index, kind in enumerate(('string',) + _KEY_LAYOUTS[keytype][1]):
        if offset + 4 > len(blob):
            raise KeyLineError('%s key data is truncated' % keytype)
        (length,) = struct.unpack('>I', blob[offset:offset + 4])
        offset += 4
        if offset + length > len(blob):
            raise KeyLineError('%s key data is truncated' % keytype)
        value = blob[offset:offset + length]
        offset += length
        if index == 0:
            embedded = value.decode('ascii', 'replace')
            if embedded != keytype:
                raise KeyLineError('declared key type %s does not match the key data (%s)' % (keytype, embedded[:64]))
        else:
            fields.append(value if kind == 'string' else int.from_bytes(value, 'big', signed=True))
    if offset != len(blob):
        raise KeyLineError('%s key data has trailing bytes' % keytype)
    return fields


def _check_fields(keytype, fields):
    if keytype in ('ssh-ed25519', 'sk-ssh-ed25519@openssh.com'):
        if len(fields[0]) != _ED25519_PUBLIC_KEY_LEN:
            raise KeyLineError('%s public key has the wrong length' % keytype)
    elif keytype.startswith(('ecdsa-', 'sk-ecdsa-')):
        curve = keytype.split('@')[0].rsplit('-', 1)[1]
        if fields[0].decode('ascii', 'replace') != curve:
            raise KeyLineError('%s key names another curve' % keytype)
        coordinate_len = (_ECDSA_CURVES[curve] + 7) // 8
        if len(fields[1]) != 1 + 2 * coordinate_len or fields[1][:1] != b'\x04':
            raise KeyLineError('%s public point is malformed' % keytype)
    elif keytype == 'ssh-rsa':
        exponent, modulus = fields
        if exponent < 3 or modulus <= 0:
            raise KeyLineError('ssh-rsa key has an invalid exponent or modulus')


def _key_bits(keytype, fields):
    if keytype in ('ssh-rsa', 'ssh-dss'):
        return fields[1 if keytype == 'ssh-rsa' else 0].bit_length()
    if keytype.startswith(('ecdsa-', 'sk-ecdsa-')):
        return _ECDSA_CURVES[fields[0].decode('ascii', 'replace')]
    return 256
