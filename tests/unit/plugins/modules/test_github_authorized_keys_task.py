"""pairing.tmux.github_authorized_keys as a task on this machine (connection local): the action
plugin and the module together, on a real file in tmp_path, keys given inline (no network)."""

import datetime
import sys

from ansible_run import MODULE_PLAY, run_playbook

from ansible_collections.pairing.tmux.plugins.module_utils.authorized_keys import parse_line

OWNER = '# the owner\'s own line\n'


def run_task(tmp_path, args, environment=None, check=False):
    """The task's result; ``environment`` is the task's, that is the target's, not the controller's."""
    record = task_record(tmp_path, args, environment, check)
    assert record['status'] != 'failed', record
    return record['result']


def task_record(tmp_path, args, environment=None, check=False):
    inventory = {'all': {'hosts': {'localhost': {'ansible_connection': 'local',
                                                 'ansible_python_interpreter': sys.executable}}}}
    extra_vars = {'module_args': args, 'module_environment': environment or {}}
    # The controller runs in UTC, whatever this machine's zone.
    controller = {'TZ': 'UTC', 'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'local'),
                  'ANSIBLE_REMOTE_TMP': str(tmp_path / 'remote')}
    run = run_playbook(MODULE_PLAY % 'pairing.tmux.github_authorized_keys', inventory, extra_vars, env=controller,
                       check=check)
    return run.result('Module')


def test_pair_Alice_then_unpair_alice(tmp_path, ed25519_lines):
    path = tmp_path / 'authorized_keys'
    path.write_text(OWNER)
    fingerprint = parse_line(ed25519_lines[0]).fingerprint
    result = run_task(tmp_path, {'users': ['Alice'], 'keys': {'Alice': [ed25519_lines[0]]}, 'path': str(path)})
    assert path.read_text().endswith(' pairing.tmux:github:alice\n')
    assert result['users'] == {'alice': {'added': [fingerprint], 'removed': [], 'changed': [], 'keys': 1}}

    result = run_task(tmp_path, {'users': ['alice'], 'state': 'absent', 'path': str(path)})
    assert path.read_text() == OWNER
    assert result['users'] == {'alice': {'added': [], 'removed': [fingerprint], 'changed': [], 'keys': 0}}


def test_it_returns_everyone_the_file_lets_in_then_so_the_block_needs_no_second_read(tmp_path, ed25519_lines):
    path = tmp_path / 'authorized_keys'
    path.write_text(OWNER)
    run_task(tmp_path, {'guests': ['bob'], 'keys': {'bob': [ed25519_lines[1]]}, 'path': str(path)})
    carol = {'guests': [{'name': 'Carol', 'read_only': True}], 'keys': {'carol': [ed25519_lines[2]]}, 'path': str(path)}
    result = run_task(tmp_path, carol)
    assert result['paired'] == [{'name': 'bob', 'read_only': False, 'expires': None},
                                {'name': 'carol', 'read_only': True, 'expires': None}]
    result = run_task(tmp_path, {'guests': ['bob'], 'state': 'absent', 'path': str(path)})
    assert result['paired'] == [{'name': 'carol', 'read_only': True, 'expires': None}]


def test_guests_is_the_option_and_users_its_old_name(tmp_path, ed25519_lines):
    path = tmp_path / 'authorized_keys'
    for option in ('guests', 'users'):
        path.write_text(OWNER)
        result = run_task(tmp_path, {option: ['bob'], 'keys': {'bob': [ed25519_lines[1]]}, 'path': str(path)})
        assert result['changed'] and path.read_text().endswith(' pairing.tmux:github:bob\n')
        assert list(result['users']) == ['bob']


def test_expiry_is_counted_on_the_target_in_its_time_zone_and_written_in_utc(tmp_path, ed25519_lines):
    path = tmp_path / 'authorized_keys'
    # The target's local time is Tokyo's (UTC+9 all year), 9 hours from the controller's.
    args = {'users': [{'name': 'erin', 'expires': '2026-12-31 18:00'}], 'keys': {'erin': [ed25519_lines[0]]},
            'path': str(path)}
    run_task(tmp_path, args, environment={'TZ': 'Asia/Tokyo'})
    (key,) = (parse_line(line) for line in path.read_text().splitlines())
    assert dict(key.options)['expiry-time'] == '202612310900Z'

    def expiry_around_now():
        return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2, minutes=1)).strftime(
            '%Y%m%d%H%MZ')

    args['users'][0]['expires'] = '2h'
    earliest = expiry_around_now()
    run_task(tmp_path, args, environment={'TZ': 'Asia/Tokyo'})
    latest = expiry_around_now()
    (key,) = (parse_line(line) for line in path.read_text().splitlines())
    assert earliest <= dict(key.options)['expiry-time'] <= latest

    args['users'][0]['expires'] = '3h'
    result = run_task(tmp_path, args, environment={'TZ': 'Asia/Tokyo'})
    assert result['users']['erin']['changed'] == [key.fingerprint]


# A stand-in for pairing-revoke: it ends (forgets) each live session, a word "ID:USER" of the file
# beside the keys, whose user the keys file no longer lets in (no file lets nobody in), and says
# so as pairing-revoke does.
REVOKE = """import os, sys
keys_file, sessions_file = sys.argv[1:3]
dry = '--dry-run' in sys.argv
keys, kept = open(keys_file).read() if os.path.exists(keys_file) else '', []
for line in open(sessions_file).read().split():
    session, user = line.split(':')
    if 'pairing.tmux:github:' + user in keys:
        kept.append(line)
    else:
        print(('would have ' if dry else '') + 'ended connection (session %s): key revoked' % session)
if not dry:
    open(sessions_file, 'w').write(' '.join(kept))
"""


def test_the_revoke_command_runs_after_the_write_on_every_run_and_dry_in_check_mode(tmp_path, ed25519_lines):
    path, sessions, script = tmp_path / 'authorized_keys', tmp_path / 'sessions', tmp_path / 'revoke.py'
    script.write_text(REVOKE)
    run_task(tmp_path, {'guests': ['bob'], 'keys': {'bob': [ed25519_lines[1]]}, 'path': str(path)})
    sessions.write_text('7:bob')
    unpair = {'guests': ['bob'], 'state': 'absent', 'path': str(path),
              'revoke_command': [sys.executable, str(script), str(path), str(sessions)]}

    result = run_task(tmp_path, unpair)
    assert result['revoked'] == ['ended connection (session 7): key revoked'] and 'bob' not in path.read_text()
    assert sessions.read_text() == ''

    # A connection an earlier run left open ends on a run that changes nothing in the file; a
    # check run reads the file as it is (it writes nothing) and ends nothing.
    sessions.write_text('9:bob')
    result = run_task(tmp_path, unpair, check=True)
    assert result['changed'] and result['revoked'] == ['would have ended connection (session 9): key revoked']
    assert sessions.read_text() == '9:bob'
    result = run_task(tmp_path, unpair)
    assert result['changed'] and result['revoked'] == ['ended connection (session 9): key revoked']
    result = run_task(tmp_path, unpair)
    assert not result['changed'] and result['revoked'] == []


def test_the_revoke_command_runs_also_when_there_is_no_file_to_write(tmp_path):
    """A keys file removed by hand lets nobody in: unpair still ends the connections it left."""
    path, sessions, script = tmp_path / 'authorized_keys', tmp_path / 'sessions', tmp_path / 'revoke.py'
    script.write_text(REVOKE)
    sessions.write_text('3:bob')
    result = run_task(tmp_path, {'guests': ['bob'], 'state': 'absent', 'path': str(path),
                                 'revoke_command': [sys.executable, str(script), str(path), str(sessions)]})
    assert result['revoked'] == ['ended connection (session 3): key revoked'] and result['changed']
    assert not path.exists() and sessions.read_text() == ''


def test_a_failing_revoke_command_fails_the_task_with_the_file_in_place(tmp_path, ed25519_lines):
    path = tmp_path / 'authorized_keys'
    record = task_record(tmp_path, {'guests': ['alice'], 'keys': {'alice': [ed25519_lines[0]]}, 'path': str(path),
                                    'revoke_command': [sys.executable, '-c', 'import sys; sys.exit("no journal")']})
    assert record['status'] == 'failed'
    assert record['result']['msg'] == ('%s: the keys file is in place, but ending the connections it no longer lets in '
                                       'failed (exit 1): no journal' % path)
    assert path.read_text().endswith(' pairing.tmux:github:alice\n')
