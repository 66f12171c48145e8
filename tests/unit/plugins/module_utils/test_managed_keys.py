"""Guests' managed lines: names, markers, options, and merging into a file that has other lines."""

import pytest

from ansible_collections.pairing.tmux.plugins.module_utils.authorized_keys import parse_line
from ansible_collections.pairing.tmux.plugins.module_utils.managed_keys import Guest, GuestError, merge

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
    assert Guest.from_spec(name).name == name


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
    ('2026-12-31', '202612310000'), ('2026-12-31 18:30', '202612311830'), ('2026-12-31T18:30', '202612311830'),
    ('20261231', '202612310000'), ('202612311830', '202612311830'),
])
def test_expires_becomes_sshd_timespec(given, rendered):
    assert Guest.from_spec({'name': 'bob', 'expires': given}).expires == rendered


def test_bad_expires_names_the_user():
    with pytest.raises(GuestError, match="user bob: expires 'next week' is not a date"):
        Guest.from_spec({'name': 'bob', 'expires': 'next week'})


def test_managed_lines_carry_options_command_marker(ed25519_lines):
    keytype, data = ed25519_lines[0].split()[:2]
    (key,) = managed('alice', ed25519_lines[0])
    assert key.render() == 'restrict,pty,command="tmux attach -t pairing" %s %s pairing.tmux:github:alice' % (
        keytype, data)
    (key,) = managed({'name': 'carol', 'read_only': True, 'expires': '2026-12-31'}, ed25519_lines[0],
                     key_options='restrict', command='/usr/local/bin/pairing-attach {user}')
    assert key.render() == ('restrict,command="/usr/local/bin/pairing-attach carol",expiry-time="202612310000" '
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
    assert report == {'alice': {'added': [], 'removed': [], 'keys': 2}, 'bob': {'added': [], 'removed': [], 'keys': 1}}


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


def test_read_only_change_rewrites_the_guest_lines(ed25519_lines):
    start = merged('', {'carol': managed('carol', ed25519_lines[0])})
    text, report = merge(start, {'carol': managed({'name': 'carol', 'read_only': True}, ed25519_lines[0])})
    assert text.endswith('pairing.tmux:github:carol:ro\n')
    assert report['carol'] == {'added': [], 'removed': [], 'keys': 1}


def test_absent_and_exclusive_remove_only_managed_lines(ed25519_lines):
    start = merged(OWNER_LINES, {'alice': managed('alice', ed25519_lines[0]), 'bob': managed('bob', ed25519_lines[1]),
                                 'carol': managed('carol', ed25519_lines[2])})
    text, report = merge(start, {}, absent=['bob'])
    assert 'pairing.tmux:github:bob' not in text and 'pairing.tmux:github:alice' in text
    assert report == {'bob': {'added': [], 'removed': [parse_line(ed25519_lines[1]).fingerprint], 'keys': 0}}
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
