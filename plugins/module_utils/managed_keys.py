# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Guests' keys in an ``authorized_keys`` file: markers, rendering and merging.

A line this collection writes ends with a marker comment naming its guest,
``pairing.tmux:github:iamvery`` (``:ro`` appended for read-only guests), so a guest's keys
can be replaced or revoked by name, also keys the guest has since deleted upstream.
Every other line of the file is the owner's and is kept byte for byte.

GitHub and GitLab user names are case-insensitive, so a guest's name is canonical lowercase
(``canonical_name``) wherever it is compared, written into a marker, or reported.
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
# User names, every rule in this one place.  A name given as a guest: GitHub's letters, digits
# and single inner hyphens, at most 39; GitLab and URL sources also allow '.' and '_', at most
# 255.  Either way nothing that could leave a URL path or a marker.
_GITHUB_LOGIN = re.compile(r'^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$')
_OTHER_LOGIN = re.compile(r'^[A-Za-z0-9](?:[A-Za-z0-9_-]|\.(?=[A-Za-z0-9_-])){0,254}$')
# A name as read back from a marker, or from the client record the attach wrapper writes from
# one: looser on purpose, any name of any source that either rule above lets in, of any length,
# so that no guest's line is ever taken for the owner's and every guest's client is named.
_MARKED_NAME = r'[A-Za-z0-9][A-Za-z0-9._-]*'
# The marker's grammar, the one definition: Line reads it here, and the host role renders it
# (lookup pairing.tmux.guest_marker) into the attach wrapper's sed and pairing-revoke.  Written
# in what Python's re and POSIX ERE share; every reader takes group 2 as the name and group 3
# as the read-only flag.
MARKER = r'^pairing\.tmux:(%s):(%s)(:ro)?$' % ('|'.join(SOURCES), _MARKED_NAME)
_MARKER = re.compile(MARKER)
# '%Y%m%d' before '%Y%m%d%H%M': strptime would read 20261231 as 2026-01-02 03:01.
_EXPIRES_FORMATS = ('%Y-%m-%d %H:%M', '%Y-%m-%dT%H:%M', '%Y-%m-%d', '%Y%m%d', '%Y%m%d%H%M')
# A duration from now: weeks, days, hours, minutes, largest unit first, e.g. 1h30m.
_DURATION = re.compile(r'^(?:(?P<weeks>\d+)w)?(?:(?P<days>\d+)d)?(?:(?P<hours>\d+)h)?(?:(?P<minutes>\d+)m)?$')
_ONE_MINUTE = datetime.timedelta(minutes=1)
_SPEC_FIELDS = ('read_only', 'expires', 'source')


class GuestError(ValueError):
    """Invalid guest input; the message names the guest and how to fix it."""


def is_marked_name(text):
    """Whether ``text`` is a name a marker can carry."""
    return re.fullmatch(_MARKED_NAME, text) is not None


def canonical_name(name):
    """The one spelling of a user name: GitHub's and GitLab's names are case-insensitive
    (Alice and alice are one account); URL sources' names are only labels, lowercased alike."""
    return name.lower()


class Guest:
    """One user whose keys may log in: name (canonical), read_only, expires (sshd timespec), source."""

    def __init__(self, name, read_only=False, expires=None, source='github'):
        self.name = canonical_name(name)
        self.read_only = bool(read_only)
        self.expires = expires
        self.source = source

    @classmethod
    def from_spec(cls, spec, now=None):
        """A name, or a dict ``{name, read_only, expires, source}``, validated; ``now`` (aware
        datetime, default the current time) is where a relative ``expires`` counts from."""
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
        return cls(name, spec.get('read_only', False), parse_expires(name, spec.get('expires'), now), source)

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


def guests_from_specs(specs, now=None):
    """``Guest.from_spec`` of each spec, one guest per name: two specs whose names differ only
    in case are the same user, and must agree on everything else.  Every relative ``expires``
    counts from the same ``now``."""
    now = now or datetime.datetime.now().astimezone()
    guests, spelled = {}, {}
    for spec in specs:
        guest = Guest.from_spec(spec, now)
        given = spec if isinstance(spec, str) else spec['name']
        first = guests.setdefault(guest.name, guest)
        spelled.setdefault(guest.name, given)
        disagree = ' and '.join(field for field in _SPEC_FIELDS if getattr(first, field) != getattr(guest, field))
        if disagree and spelled[guest.name] == given:
            raise GuestError('user %s is listed twice with different %s: list it once' % (given, disagree))
        if disagree:
            raise GuestError('users %s and %s are the same user (user names are case-insensitive) but with'
                             ' different %s: list it once' % (spelled[guest.name], given, disagree))
    return list(guests.values())


def keys_by_guest(keys):
    """The ``keys`` option (user name -> key lines) keyed by canonical name."""
    by_guest, spelled = {}, {}
    for name, lines in (keys or {}).items():
        guest = canonical_name(name)
        if guest in by_guest:
            raise GuestError('keys: %s and %s are the same user (user names are case-insensitive): give its keys once'
                             % (spelled[guest], name))
        by_guest[guest], spelled[guest] = lines, name
    return by_guest


def parse_expires(name, value, now=None):
    """``2026-12-31``, ``2026-12-31 18:00`` or ``202612311800`` (host local time), or a duration
    from ``now`` such as ``30m``, ``2h``, ``1d``, ``1h30m`` or ``2w`` -> sshd's expiry-time in UTC,
    ``YYYYMMDDHHMMZ``: sshd reads a time without the ``Z`` as standard time, an hour off while
    daylight saving time is on.  ``now``: an aware datetime, default the current time."""
    if value in (None, ''):
        return None
    relative = _expiry_after(str(value), now or datetime.datetime.now().astimezone())
    if relative:
        return relative
    for fmt in _EXPIRES_FORMATS:
        try:
            moment = datetime.datetime.strptime(str(value), fmt)
        except ValueError:
            continue
        return _timespec(moment.astimezone())  # a naive time is this host's local time
    raise GuestError('user %s: expires %r is neither a date (YYYY-MM-DD or "YYYY-MM-DD HH:MM", host local time)'
                     ' nor a duration from now of at least a minute (such as 30m, 2h, 1d, 1h30m; units w, d, h, m)'
                     % (name, value))


def _timespec(moment):
    return moment.astimezone(datetime.timezone.utc).strftime('%Y%m%d%H%MZ')


def _expiry_after(text, now):
    """The sshd timespec a duration such as ``1h30m`` after ``now``; None when ``text`` is not
    a duration of at least a minute."""
    duration = _DURATION.match(text)
    if not duration or not any(duration.groups()):
        return None
    try:
        delta = datetime.timedelta(**{unit: int(count) for unit, count in duration.groupdict('0').items()})
        if delta < _ONE_MINUTE:
            return None
        until = now + delta
        # sshd's expiry-time has whole minutes and refuses a key once it is passed: round up, so
        # the grant lasts at least the duration and a rerun within the same minute writes the same line.
        return _timespec(until.replace(second=0, microsecond=0) + _ONE_MINUTE)
    except OverflowError:  # beyond the year 9999
        return None


class Line:
    """One line of the file as read: its exact text, and its guest (canonical name) when it is managed."""

    def __init__(self, raw):
        self.raw = raw
        self.key = None
        self.guest = None
        self.read_only = False
        text = raw.rstrip('\r\n')
        try:
            key = parse_line(text, key_types=KNOWN_KEY_TYPES, min_rsa_bits=0)
        except KeyLineError:
            return
        match = _MARKER.match(key.comment)
        if match:
            self.key = key
            # Files written before names were canonical may spell a guest Alice.
            self.guest = canonical_name(match.group(2))
            self.read_only = match.group(3) is not None


def paired(text):
    """The guests an authorized_keys text lets in, in file order, one entry each:
    ``{name, read_only, expires}`` (``expires``: sshd's expiry-time, or None)."""
    found = {}
    for line in (Line(raw) for raw in text.splitlines(True)):
        if line.guest and line.guest not in found:
            found[line.guest] = {'name': line.guest, 'read_only': line.read_only,
                                 'expires': dict(line.key.options).get('expiry-time')}
    return list(found.values())


def merge(text, present, absent=(), exclusive=False):
    """The file's new text, and per guest whose lines were in play the fingerprints added,
    removed and changed, and the number of keys now in place.

    ``present``: guest name (``Guest.name``) -> the guest's managed keys
    (``Guest.managed_keys``), in the order wanted; ``absent``: names whose lines go;
    ``exclusive``: managed lines of guests not in ``present`` go too.  A guest's new lines take
    the place of its first old line (appended when it had none); every other line stays where
    and as it was.  A key is ``changed`` when it stays but what it grants does not: its options
    (command, expiry-time, ...) or its read-only marker.
    """
    check_unique_keys(present)
    absent = {canonical_name(name) for name in absent}
    lines = [Line(raw) for raw in text.splitlines(True)]

    def in_play(guest):
        return guest in present or guest in absent or exclusive

    output, placed, old = [], set(), {}
    for line in lines:
        if line.guest is None or not in_play(line.guest):
            output.append(line.raw)
            continue
        old.setdefault(line.guest, {}).setdefault(line.key.fingerprint, set()).add(_grant(line.key))
        if line.guest in present and line.guest not in placed:
            placed.add(line.guest)
            output.extend(key.render() + '\n' for key in present[line.guest])
    appended = [key.render() + '\n' for guest, keys in present.items() if guest not in placed for key in keys]
    if appended and output and not output[-1].endswith('\n'):
        output[-1] += '\n'
    output.extend(appended)

    report = {}
    for guest in sorted(set(old) | set(present)):
        before = old.get(guest, {})
        after = {key.fingerprint: _grant(key) for key in present.get(guest, ())}
        report[guest] = {'added': sorted(set(after) - set(before)), 'removed': sorted(set(before) - set(after)),
                         'changed': sorted(fingerprint for fingerprint, grant in after.items()
                                           if fingerprint in before and before[fingerprint] != {grant}),
                         'keys': len(after)}
    return ''.join(output), report


def _grant(key):
    """What a managed line lets its key do: its options, and whether its marker says read-only
    (the marker's name may differ in case only, which grants nothing different)."""
    return key.options, key.comment.endswith(':ro')


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
        guests=dict(type='list', elements='raw', default=[], aliases=['users']),
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
        allow_http=dict(type='bool', default=False),
        revoke_command=dict(type='list', elements='str'),
    )


REQUIRED_ONE_OF = [('path', 'user')]
