# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Guests' keys in an ``authorized_keys`` file: markers, rendering and merging.

A line this collection writes ends with a marker comment naming its guest,
``pairing.tmux:github:iamvery`` (``:ro`` appended for read-only guests), so a guest's keys
can be replaced or revoked by name, also keys the guest has since deleted upstream.
Every other line of the file is the owner's and is kept byte for byte.
"""

import datetime
import re

from ansible_collections.pairing.tmux.plugins.module_utils.authorized_keys import (
    DEFAULT_KEY_TYPES,
    KNOWN_KEY_TYPES,
    KeyLineError,
    parse_line,
    parse_options,
)

SOURCES = ('github', 'gitlab', 'url')
DEFAULT_KEY_OPTIONS = 'restrict,pty'
DEFAULT_COMMAND = 'tmux attach -t pairing'
_MARKER = re.compile(r'^pairing\.tmux:(github|gitlab|url):([A-Za-z0-9][A-Za-z0-9._-]*)(:ro)?$')
# GitHub: letters, digits and single inner hyphens, at most 39.  GitLab and URL sources
# also allow '.' and '_'.  Either way nothing that could leave a URL path or a marker.
_GITHUB_LOGIN = re.compile(r'^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$')
_OTHER_LOGIN = re.compile(r'^[A-Za-z0-9](?:[A-Za-z0-9_-]|\.(?=[A-Za-z0-9_-])){0,254}$')
# '%Y%m%d' before '%Y%m%d%H%M': strptime would read 20261231 as 2026-01-02 03:01.
_EXPIRES_FORMATS = ('%Y-%m-%d %H:%M', '%Y-%m-%dT%H:%M', '%Y-%m-%d', '%Y%m%d', '%Y%m%d%H%M')


class GuestError(ValueError):
    """Invalid guest input; the message names the guest and how to fix it."""


class Guest:
    """One user whose keys may log in: name, read_only, expires (sshd timespec), source."""

    def __init__(self, name, read_only=False, expires=None, source='github'):
        self.name = name
        self.read_only = bool(read_only)
        self.expires = expires
        self.source = source

    @classmethod
    def from_spec(cls, spec):
        """A name, or a dict ``{name, read_only, expires, source}``, validated."""
        if isinstance(spec, str):
            spec = {'name': spec}
        if not isinstance(spec, dict) or not isinstance(spec.get('name'), str):
            raise GuestError('each user must be a name or a dict with a name, got %r' % (spec,))
        unknown = sorted(set(spec) - {'name', 'read_only', 'expires', 'source'})
        if unknown:
            raise GuestError('user %s: unknown field(s) %s (known: name, read_only, expires, source)'
                             % (spec['name'], ', '.join(unknown)))
        name, source = spec['name'], spec.get('source') or 'github'
        kind = source if source in ('github', 'gitlab') else 'url'
        if kind == 'url' and not source.startswith(('https://', 'http://')):
            raise GuestError('user %s: source must be github, gitlab or an http(s) URL, got %r' % (name, source))
        if not (_GITHUB_LOGIN if kind == 'github' else _OTHER_LOGIN).match(name):
            raise GuestError('%r is not a valid %s user name (letters, digits and single hyphens%s)'
                             % (name, 'GitHub' if kind == 'github' else kind, '' if kind == 'github' else ", '.', '_'"))
        return cls(name, spec.get('read_only', False), parse_expires(name, spec.get('expires')), source)

    @property
    def kind(self):
        return self.source if self.source in ('github', 'gitlab') else 'url'

    @property
    def marker(self):
        return 'pairing.tmux:%s:%s%s' % (self.kind, self.name, ':ro' if self.read_only else '')

    def managed_keys(self, keys, key_options=DEFAULT_KEY_OPTIONS, command=DEFAULT_COMMAND):
        """``keys`` (AuthorizedKey) as this guest's managed lines: one per distinct key, in order,
        with the options every guest key carries and the guest's marker as the comment."""
        options = parse_options(key_options)
        if command:
            options += (('command', command.replace('{user}', self.name)),)
        if self.expires:
            options += (('expiry-time', self.expires),)
        managed, seen = [], set()
        for key in keys:
            if key.identity not in seen:
                seen.add(key.identity)
                managed.append(key._replace(options=options, comment=self.marker))
        return managed


def parse_expires(name, value):
    """``2026-12-31``, ``2026-12-31 18:00`` or ``202612311800`` -> sshd's ``YYYYMMDDHHMM``."""
    if value in (None, ''):
        return None
    for fmt in _EXPIRES_FORMATS:
        try:
            return datetime.datetime.strptime(str(value), fmt).strftime('%Y%m%d%H%M')
        except ValueError:
            continue
    raise GuestError('user %s: expires %r is not a date (use YYYY-MM-DD or "YYYY-MM-DD HH:MM", host local time)'
                     % (name, value))


class Line:
    """One line of the file as read: its exact text, and its guest when it is managed."""

    def __init__(self, raw):
        self.raw = raw
        self.key = None
        self.guest = None
        text = raw.rstrip('\r\n')
        try:
            key = parse_line(text, key_types=KNOWN_KEY_TYPES, min_rsa_bits=0)
        except KeyLineError:
            return
        match = _MARKER.match(key.comment)
        if match:
            self.key = key
            self.guest = match.group(2)


def merge(text, present, absent=(), exclusive=False):
    """The file's new text, and per guest whose lines were in play the fingerprints added
    and removed and the number of keys now in place.

    ``present``: guest name -> the guest's managed keys (``Guest.managed_keys``), in the
    order wanted; ``absent``: names whose lines go; ``exclusive``: managed lines of guests
    not in ``present`` go too.  A guest's new lines take the place of its first old line
    (appended when it had none); every other line stays where and as it was.
    """
    check_unique_keys(present)
    lines = [Line(raw) for raw in text.splitlines(True)]

    def in_play(guest):
        return guest in present or guest in absent or exclusive

    output, placed, old = [], set(), {}
    for line in lines:
        if line.guest is None or not in_play(line.guest):
            output.append(line.raw)
            continue
        old.setdefault(line.guest, set()).add(line.key.fingerprint)
        if line.guest in present and line.guest not in placed:
            placed.add(line.guest)
            output.extend(key.render() + '\n' for key in present[line.guest])
    appended = [key.render() + '\n' for guest, keys in present.items() if guest not in placed for key in keys]
    if appended and output and not output[-1].endswith('\n'):
        output[-1] += '\n'
    output.extend(appended)

    report = {}
    for guest in sorted(set(old) | set(present)):
        before = old.get(guest, set())
        after = {key.fingerprint for key in present.get(guest, ())}
        report[guest] = {'added': sorted(after - before), 'removed': sorted(before - after), 'keys': len(after)}
    return ''.join(output), report


def check_unique_keys(present):
    """Refuse one key for two guests: the attach wrapper could not tell them apart."""
    owners = {}
    for guest, keys in present.items():
        for key in keys:
            other = owners.setdefault(key.identity, guest)
            if other != guest:
                raise GuestError('users %s and %s list the same %s key: a key may belong to one guest only'
                                 % (other, guest, key.keytype))


def argument_spec():
    """Options of pairing.tmux.github_authorized_keys, checked by its action plugin on the
    controller and by its module on the target (the DOCUMENTATION describes them)."""
    return dict(
        users=dict(type='list', elements='raw', default=[]),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        exclusive=dict(type='bool', default=False),
        path=dict(type='path'),
        user=dict(type='str'),
        owner=dict(type='str'),
        group=dict(type='str'),
        mode=dict(type='raw'),
        manage_dir=dict(type='bool', default=False),
        # Public keys and their options are no secret.
        key_options=dict(type='str', default=DEFAULT_KEY_OPTIONS, no_log=False),
        command=dict(type='str', default=DEFAULT_COMMAND),
        key_types=dict(type='list', elements='str', default=list(DEFAULT_KEY_TYPES), no_log=False),
        keys=dict(type='dict', no_log=False),
        github_url=dict(type='str', default='https://github.com'),
        gitlab_url=dict(type='str', default='https://gitlab.com'),
        api_token=dict(type='str', no_log=True),
        timeout=dict(type='int', default=10),
        validate_certs=dict(type='bool', default=True),
    )


REQUIRED_ONE_OF = [('path', 'user')]
