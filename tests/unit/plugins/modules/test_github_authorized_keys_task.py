"""pairing.tmux.github_authorized_keys as a task on this machine (connection local): the action
plugin and the module together, on a real file in tmp_path, keys given inline (no network)."""

import datetime
import sys

from ansible_run import MODULE_PLAY, run_playbook

from ansible_collections.pairing.tmux.plugins.module_utils.authorized_keys import parse_line

OWNER = '# the owner\'s own line\n'


def run_task(tmp_path, args, environment=None):
    """The task's record; ``environment`` is the task's, that is the target's, not the controller's."""
    inventory = {'all': {'hosts': {'localhost': {'ansible_connection': 'local',
                                                 'ansible_python_interpreter': sys.executable}}}}
    extra_vars = {'module_args': args, 'module_environment': environment or {}}
    # The controller runs in UTC, whatever this machine's zone.
    controller = {'TZ': 'UTC', 'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'local'),
                  'ANSIBLE_REMOTE_TMP': str(tmp_path / 'remote')}
    run = run_playbook(MODULE_PLAY % 'pairing.tmux.github_authorized_keys', inventory, extra_vars, env=controller)
    record = run.result('Module')
    assert record['status'] != 'failed', run.output
    return record['result']


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
