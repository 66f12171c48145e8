"""Guests' managed lines: names, markers, options, and merging into a file that has other lines."""

import datetime
import re
import subprocess
import time

import pytest

from ansible_collections.pairing.tmux.plugins.module_utils.authorized_keys import parse_line
from ansible_collections.pairing.tmux.plugins.module_utils.managed_keys import (
    MARKER,
    Guest,
    GuestError,
    guests_from_specs,
    keys_by_guest,
    merge,
    parse_expires,
)

OWNER_LINES = (
    '# my own keys, hands off\n'
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGz4yBfcQ0F9J/XuoPwKCBXTn4kxOrRj0FqViR1E5AFM me@laptop\n'
    '\n'
    'not a key at all \xe9\t  \n'
)


def merged(*args, **kwargs):
    return merge(*args, **kwargs)[0]


def managed(guest_spec, *lines, **options):
    guest = Guest.from_spec(guest_spec)
    return guest.managed_keys([parse_line(line) for line in lines], **options)


@pytest.mark.parametrize('name', ['iamvery', 'a', 'a-b-c', 'A1', 'x' * 39])
def test_valid_github_names(name):
    assert Guest.from_spec(name).name == name.lower()


@pytest.mark.parametrize('name', ['a/b', 'a b', '..', 'a..b', 'a\nb', '-a', 'a-', 'a--b', 'x' * 40, '', 'a.b',
                                  'a_b', '$(id)'])
def test_invalid_github_names_are_refused_before_anything(name):
    with pytest.raises(GuestError, match='is not a valid GitHub user name'):
        Guest.from_spec(name)


def test_gitlab_and_url_names_also_allow_dots_and_underscores_but_not_dot_dot():
    assert Guest.from_spec({'name': 'first.last_1', 'source': 'gitlab'}).kind == 'gitlab'
    with pytest.raises(GuestError, match='not a valid gitlab user name'):
        Guest.from_spec({'name': 'a..b', 'source': 'gitlab'})
    assert Guest.from_spec({'name': 'ci_bot', 'source': 'https://keys.example/ci.pub'}).kind == 'url'
    with pytest.raises(GuestError, match='source must be github, gitlab or an http'):
        Guest.from_spec({'name': 'x', 'source': 'file:///etc/passwd'})


def test_unknown_fields_and_shapes_are_refused():
    with pytest.raises(GuestError, match='user bob: unknown field\\(s\\) readonly'):
        Guest.from_spec({'name': 'bob', 'readonly': True})
    with pytest.raises(GuestError, match='a name or a dict with a name'):
        Guest.from_spec(42)


@pytest.mark.parametrize('given, rendered', [
    ('2026-12-31', '202612302300Z'), ('2026-12-31 18:30', '202612311730Z'), ('2026-12-31T18:30', '202612311730Z'),
    ('20261231', '202612302300Z'), ('202612311830', '202612311730Z'), ('2026-07-01 12:00', '202607011000Z'),
])
def test_a_date_is_host_local_time_written_in_utc(local_zone, given, rendered):
    # sshd reads an expiry-time without Z as standard time: in summer that is an hour late.
    local_zone('Europe/Berlin')
    assert Guest.from_spec({'name': 'bob', 'expires': given}).expires == rendered


@pytest.mark.parametrize('given', ['next week', '0m', '0h0m', '30s', '2h30', '30m2h', '2 h', '-1h', 'h',
                                   '99999999999w'])
def test_bad_expires_names_the_user_and_both_forms(given):
    message = ("user bob: expires '%s' is neither a date (YYYY-MM-DD or \"YYYY-MM-DD HH:MM\", host local time) nor a"
               " duration from now of at least a minute (such as 30m, 2h, 1d, 1h30m; units w, d, h, m)" % given)
    with pytest.raises(GuestError) as error:
        Guest.from_spec({'name': 'bob', 'expires': given})
    assert str(error.value) == message


def test_managed_lines_carry_options_command_marker(ed25519_lines, local_zone):
    local_zone('UTC')
    keytype, data = ed25519_lines[0].split()[:2]
    (key,) = managed('alice', ed25519_lines[0])
    assert key.render() == 'restrict,pty,command="tmux attach -t pairing" %s %s pairing.tmux:github:alice' % (
        keytype, data)
    (key,) = managed({'name': 'carol', 'read_only': True, 'expires': '2026-12-31'}, ed25519_lines[0],
                     key_options='restrict', command='/usr/local/bin/pairing-attach {user}')
    assert key.render() == ('restrict,command="/usr/local/bin/pairing-attach carol",expiry-time="202612310000Z" '
                            '%s %s pairing.tmux:github:carol:ro' % (keytype, data))
    (key,) = managed('dave', ed25519_lines[0], command='')
    assert key.options == (('restrict', None), ('pty', None))


def test_same_key_twice_becomes_one_line(ed25519_lines):
    keys = managed('alice', ed25519_lines[0], ed25519_lines[1], ed25519_lines[0].replace('laptop-0', 'other'))
    assert [key.key_b64 for key in keys] == [ed25519_lines[0].split()[1], ed25519_lines[1].split()[1]]


def test_new_guests_are_appended_and_owner_lines_stay_byte_for_byte(ed25519_lines):
    present = {'alice': managed('alice', *ed25519_lines[:2]), 'bob': managed('bob', ed25519_lines[2])}
    text, report = merge(OWNER_LINES, present)
    assert text.startswith(OWNER_LINES)
    assert text[len(OWNER_LINES):].splitlines() == [key.render() for key in present['alice'] + present['bob']]
    assert report['alice']['added'] == sorted(key.fingerprint for key in present['alice'])
    assert report['alice']['removed'] == [] and report['bob']['keys'] == 1
    # Idempotent: the same wish against the result changes nothing and reports nothing new.
    again, report = merge(text, present)
    assert again == text
    assert report == {'alice': {'added': [], 'removed': [], 'changed': [], 'keys': 2},
                      'bob': {'added': [], 'removed': [], 'changed': [], 'keys': 1}}


def test_a_file_without_final_newline_gets_one_before_appended_lines(ed25519_lines):
    text = merged('ssh-ed25519 AAAA-not-valid-but-kept', {'alice': managed('alice', ed25519_lines[0])})
    assert text.splitlines(True)[0] == 'ssh-ed25519 AAAA-not-valid-but-kept\n'


def test_a_guest_keeps_its_place_and_stale_keys_go(ed25519_lines):
    start = merged(OWNER_LINES, {'alice': managed('alice', ed25519_lines[0], ed25519_lines[1]),
                                 'bob': managed('bob', ed25519_lines[2])})
    start += '# owner line after the guests\n'
    text, report = merge(start, {'alice': managed('alice', ed25519_lines[3])})
    rendered = managed('alice', ed25519_lines[3])[0].render()
    bob = managed('bob', ed25519_lines[2])[0].render()
    assert text == OWNER_LINES + rendered + '\n' + bob + '\n# owner line after the guests\n'
    assert report['alice']['removed'] == sorted(parse_line(line).fingerprint for line in ed25519_lines[:2])
    assert 'bob' not in report


def test_read_only_change_rewrites_the_guest_lines_and_reports_the_key_changed(ed25519_lines):
    start = merged('', {'carol': managed('carol', ed25519_lines[0])})
    text, report = merge(start, {'carol': managed({'name': 'carol', 'read_only': True}, ed25519_lines[0])})
    assert text.endswith('pairing.tmux:github:carol:ro\n')
    assert report['carol'] == {'added': [], 'removed': [], 'changed': [parse_line(ed25519_lines[0]).fingerprint],
                               'keys': 1}


def test_absent_and_exclusive_remove_only_managed_lines(ed25519_lines):
    start = merged(OWNER_LINES, {'alice': managed('alice', ed25519_lines[0]), 'bob': managed('bob', ed25519_lines[1]),
                                 'carol': managed('carol', ed25519_lines[2])})
    text, report = merge(start, {}, absent=['bob'])
    assert 'pairing.tmux:github:bob' not in text and 'pairing.tmux:github:alice' in text
    assert report == {'bob': {'added': [], 'removed': [parse_line(ed25519_lines[1]).fingerprint], 'changed': [],
                              'keys': 0}}
    text, report = merge(start, {'carol': managed('carol', ed25519_lines[2])}, exclusive=True)
    assert text == OWNER_LINES + managed('carol', ed25519_lines[2])[0].render() + '\n'
    assert sorted(report) == ['alice', 'bob', 'carol']
    revoked_all = merged(start, {}, exclusive=True)
    assert revoked_all == OWNER_LINES


def test_keys_a_user_deleted_upstream_are_revoked_by_marker(ed25519_lines):
    start = merged('', {'alice': managed('alice', ed25519_lines[0], ed25519_lines[1])})
    text, report = merge(start, {'alice': managed('alice', ed25519_lines[1])})
    assert ed25519_lines[0].split()[1] not in text
    assert report['alice']['removed'] == [parse_line(ed25519_lines[0]).fingerprint]


def test_one_key_for_two_guests_is_refused(ed25519_lines):
    with pytest.raises(GuestError, match='users alice and bob list the same ssh-ed25519 key'):
        merge('', {'alice': managed('alice', ed25519_lines[0]), 'bob': managed('bob', ed25519_lines[0])})


# --- Names are case-insensitive, as on GitHub ---------------------------------------------

def test_a_name_is_lowercase_in_the_guest_its_marker_and_its_command(ed25519_lines):
    guest = Guest.from_spec({'name': 'Alice', 'read_only': True})
    assert guest.name == 'alice' and guest.marker == 'pairing.tmux:github:alice:ro'
    (key,) = managed('AlIcE', ed25519_lines[0], command='pairing-attach {user}')
    assert key.render().endswith('pairing.tmux:github:alice') and ('command', 'pairing-attach alice') in key.options
    assert Guest.from_spec({'name': 'First.Last', 'source': 'gitlab'}).marker == 'pairing.tmux:gitlab:first.last'
    assert Guest.from_spec({'name': 'CI_Bot', 'source': 'https://keys.example/ci.pub'}).name == 'ci_bot'


def test_pair_Alice_then_unpair_alice_removes_her_lines(ed25519_lines):
    (alice,) = guests_from_specs(['Alice'])
    start = merged(OWNER_LINES, {alice.name: alice.managed_keys([parse_line(ed25519_lines[0])])})
    assert 'pairing.tmux:github:alice\n' in start
    text, report = merge(start, {}, absent=[guest.name for guest in guests_from_specs(['alice'])])
    assert text == OWNER_LINES
    assert report == {'alice': {'added': [], 'removed': [parse_line(ed25519_lines[0]).fingerprint], 'changed': [],
                                'keys': 0}}
    assert merged(start, {}, absent=['ALICE']) == OWNER_LINES


def test_an_old_file_with_a_capitalised_marker_is_matched_and_rewritten_in_lowercase(tmp_path, ed25519_lines):
    keytype, data = ed25519_lines[0].split()[:2]
    old_line = 'restrict,pty,command="tmux attach -t pairing" %s %s pairing.tmux:github:Alice\n' % (keytype, data)
    path = tmp_path / 'authorized_keys'
    path.write_text(OWNER_LINES + old_line)
    text, report = merge(path.read_text(), {'alice': managed('alice', ed25519_lines[0], ed25519_lines[1])})
    assert text == OWNER_LINES + ''.join(key.render() + '\n' for key in managed('alice', *ed25519_lines[:2]))
    assert 'Alice' not in text
    # Only the case of the name differs: the first key grants nothing new, so it is not changed.
    assert report == {'alice': {'added': [parse_line(ed25519_lines[1]).fingerprint], 'removed': [], 'changed': [],
                                'keys': 2}}
    assert merged(path.read_text(), {}, absent=['alice']) == OWNER_LINES
    assert merged(path.read_text(), {}, exclusive=True) == OWNER_LINES


# Comments, and how the marker grammar reads each: the name and whether read-only, or None.
MARKERS = {
    'pairing.tmux:github:alice': ('alice', False), 'pairing.tmux:github:alice:ro': ('alice', True),
    'pairing.tmux:gitlab:first.last_1': ('first.last_1', False), 'pairing.tmux:url:ci_bot:ro': ('ci_bot', True),
    'pairing.tmux:github:Alice': ('Alice', False), 'pairing.tmux:url:' + 'x' * 300: ('x' * 300, False),
    'pairing.tmux:github:alice:rw': None, 'pairing.tmux:github:alice:ro:ro': None,
    'pairing.tmux:github:-alice': None, 'pairing.tmux:github:../etc': None, 'pairing.tmux:github:al/ice': None,
    'pairing.tmux:github:': None, 'pairing.tmux:github:\xe5lice': None, 'pairing.tmux:file:alice': None,
    'pairingXtmux:github:alice': None, 'xpairing.tmux:github:alice': None, 'laptop-0': None,
}


def test_the_marker_grammar_reads_the_same_in_python_and_as_a_posix_ere_in_sed():
    # The host role's attach wrapper reads markers with this very pattern in sed -E.
    matches = [re.match(MARKER, comment) for comment in MARKERS]
    assert [match and (match.group(2), match.group(3) is not None) for match in matches] == list(MARKERS.values())
    sed = subprocess.run(['sed', '-E', '-e', 's/%s/\\2 \\3/' % MARKER, '-e', 't', '-e', 's/.*/-/'],
                         input=''.join(comment + '\n' for comment in MARKERS), capture_output=True, text=True,
                         check=True, env={'LC_ALL': 'C'})
    assert sed.stdout.splitlines() == ['-' if read is None else '%s %s' % (read[0], ':ro' if read[1] else '')
                                       for read in MARKERS.values()]


def test_specs_differing_only_in_case_are_one_guest():
    guests = guests_from_specs(['alice', 'Bob', {'name': 'ALICE', 'read_only': False}, {'name': 'bob'}])
    assert [guest.name for guest in guests] == ['alice', 'bob']


@pytest.mark.parametrize('second, message', [
    ({'name': 'alice', 'read_only': True},
     'users Alice and alice are the same user (user names are case-insensitive) but with different read_only:'
     ' list it once'),
    ({'name': 'ALICE', 'expires': '2026-12-31', 'read_only': True},
     'users Alice and ALICE are the same user (user names are case-insensitive) but with different read_only and'
     ' expires: list it once'),
    ({'name': 'alice', 'source': 'gitlab'},
     'users Alice and alice are the same user (user names are case-insensitive) but with different source:'
     ' list it once'),
    ({'name': 'Alice', 'read_only': True}, 'user Alice is listed twice with different read_only: list it once'),
])
def test_specs_of_one_guest_that_disagree_are_refused_naming_both(second, message):
    with pytest.raises(GuestError) as error:
        guests_from_specs(['Alice', second])
    assert str(error.value) == message


def test_inline_keys_are_found_whatever_the_case_of_their_name():
    assert keys_by_guest({'Erin': ['key']}) == {'erin': ['key']}
    assert keys_by_guest(None) == {}
    with pytest.raises(GuestError) as error:
        keys_by_guest({'Erin': ['a'], 'erin': ['b']})
    assert str(error.value) == ('keys: Erin and erin are the same user (user names are case-insensitive):'
                                ' give its keys once')


# --- changed: keys that stay, on other terms -----------------------------------------------

def test_changed_lists_keys_that_stay_with_other_options(ed25519_lines):
    first, second, third = (parse_line(line).fingerprint for line in ed25519_lines[:3])
    start = merged('', {'dan': managed('dan', *ed25519_lines[:2])})
    until_2026 = {'name': 'dan', 'expires': '2026-12-31'}
    text, report = merge(start, {'dan': managed(until_2026, *ed25519_lines[1:3])})
    assert report['dan'] == {'added': [third], 'removed': [first], 'changed': [second], 'keys': 2}

    def changed(spec, **options):
        return merge(text, {'dan': managed(spec, *ed25519_lines[1:3], **options)})[1]['dan']['changed']

    assert changed(until_2026) == []
    assert changed({'name': 'dan', 'expires': '2027-01-31'}) == sorted([second, third])
    assert changed(until_2026, command='pairing-attach {user}') == sorted([second, third])
    assert changed(until_2026, key_options='restrict') == sorted([second, third])


# --- expires: a date, or a duration counted from now on this host ---------------------------

@pytest.fixture
def local_zone(monkeypatch):
    """Set this process's local time zone, as the target's would be."""
    def use(name):
        monkeypatch.setenv('TZ', name)
        time.tzset()
    yield use
    monkeypatch.undo()
    time.tzset()


UTC = datetime.timezone.utc


@pytest.mark.parametrize('given, until', [
    ('30m', '202606011031Z'), ('2h', '202606011201Z'), ('1d', '202606021001Z'), ('1h30m', '202606011131Z'),
    ('2w', '202606151001Z'), ('1w2d3h4m', '202606101305Z'), ('90m', '202606011131Z'), ('1m', '202606011002Z'),
])
def test_a_duration_becomes_a_utc_time_rounded_up_to_the_next_minute(local_zone, given, until):
    local_zone('UTC')
    assert parse_expires('bob', given, datetime.datetime(2026, 6, 1, 10, 0, 12, tzinfo=UTC)) == until


def test_a_duration_is_the_same_all_through_a_minute_and_lasts_at_least_that_long(local_zone):
    local_zone('UTC')
    start, end = (datetime.datetime(2026, 6, 1, 10, 0, second, tzinfo=UTC) for second in (0, 59))
    assert parse_expires('bob', '2h', start) == parse_expires('bob', '2h', end) == '202606011201Z'
    assert parse_expires('bob', '2h', end.replace(minute=1, second=0)) == '202606011202Z'


def test_a_duration_is_the_same_moment_in_any_time_zone(local_zone):
    now = datetime.datetime(2026, 6, 1, 10, 0, 12, tzinfo=UTC)
    local_zone('Asia/Tokyo')
    assert parse_expires('bob', '2h', now) == '202606011201Z'
    local_zone('America/New_York')
    assert parse_expires('bob', '2h', now) == '202606011201Z'


def test_a_duration_over_a_dst_change_is_real_time_not_wall_clock_time(local_zone):
    local_zone('Europe/Berlin')
    # 01:30 CET; clocks jump from 02:00 to 03:00, so two hours later it is 04:30 CEST, 02:30 UTC.
    now = datetime.datetime(2026, 3, 29, 1, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert parse_expires('bob', '2h', now) == '202603290231Z'


def test_a_duration_counts_from_the_current_time_by_default(local_zone):
    local_zone('UTC')
    before = datetime.datetime.now(UTC)
    expires = datetime.datetime.strptime(parse_expires('bob', '1h'), '%Y%m%d%H%MZ').replace(tzinfo=UTC)
    assert before + datetime.timedelta(hours=1) < expires <= datetime.datetime.now(UTC) + datetime.timedelta(
        hours=1, minutes=1)


def test_absolute_dates_ignore_now(local_zone):
    local_zone('UTC')
    assert parse_expires('bob', '2026-12-31 18:30', datetime.datetime(2030, 1, 1, tzinfo=UTC)) == '202612311830Z'
    assert parse_expires('bob', '', datetime.datetime(2030, 1, 1, tzinfo=UTC)) is None


def test_every_relative_expires_of_one_run_counts_from_the_same_now(local_zone):
    local_zone('UTC')
    now = datetime.datetime(2026, 6, 1, 10, 0, 59, tzinfo=UTC)
    guests = guests_from_specs([{'name': 'Bob', 'expires': '2h'}, {'name': 'bob', 'expires': '120m'},
                                {'name': 'carol', 'expires': '1d'}], now)
    assert [(guest.name, guest.expires) for guest in guests] == [('bob', '202606011201Z'), ('carol', '202606021001Z')]
