"""pairing.tmux.files as a task on this machine (connection local), on real files in tmp_path."""

import os
import stat
import sys

from ansible_run import MODULE_PLAY, run_playbook

INVENTORY = {'all': {'hosts': {'localhost': {'ansible_connection': 'local',
                                             'ansible_python_interpreter': sys.executable}}}}
OWNER = {'owner': str(os.getuid()), 'group': str(os.getgid())}  # whoever runs the tests


def run_task(tmp_path, files, check=False, diff=False):
    run = run_playbook(MODULE_PLAY % 'pairing.tmux.files', INVENTORY,
                       {'module_args': {'files': files}, 'module_environment': {}}, check=check, diff=diff,
                       env={'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'local'),
                            'ANSIBLE_REMOTE_TMP': str(tmp_path / 'remote')})
    return run.result('Module')


def spec(path, content, mode='0644'):
    return dict(path=str(path), content=content, mode=mode, **OWNER)


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_writes_what_differs_and_a_second_run_changes_nothing(tmp_path):
    program, unit = tmp_path / 'program', tmp_path / 'unit.service'
    unit.write_text('[Unit]\n')
    os.chmod(unit, 0o644)
    files = [spec(program, '#!/bin/sh\necho hi\n', '0755'), spec(unit, '[Unit]\n')]
    record = run_task(tmp_path, files)
    assert record['status'] == 'changed' and record['result']['changed_paths'] == [str(program)]
    assert program.read_text() == '#!/bin/sh\necho hi\n' and mode(program) == 0o755

    record = run_task(tmp_path, files)
    assert record['status'] == 'ok' and record['result']['changed_paths'] == []


def test_a_mode_alone_is_a_change_and_shows_in_the_diff(tmp_path):
    unit = tmp_path / 'unit.service'
    unit.write_text('[Unit]\n')
    os.chmod(unit, 0o666)
    record = run_task(tmp_path, [spec(unit, '[Unit]\n')], diff=True)
    assert record['result']['changed_paths'] == [str(unit)] and mode(unit) == 0o644
    (diff,) = record['result']['diff']
    assert diff['before'] == {'mode': '0666'} and diff['after'] == {'mode': '0644'}


def test_check_mode_reports_and_writes_nothing(tmp_path):
    present, absent = tmp_path / 'present', tmp_path / 'absent'
    present.write_text('old\n')
    record = run_task(tmp_path, [spec(present, 'new\n'), spec(absent, 'new\n')], check=True, diff=True)
    assert record['result']['changed_paths'] == [str(present), str(absent)]
    assert present.read_text() == 'old\n' and not absent.exists()
    assert [(diff['before'], diff['after']) for diff in record['result']['diff']] == [('old\n', 'new\n'), ('', 'new\n')]


def test_a_symlink_or_a_missing_directory_fails_before_anything_is_written(tmp_path):
    first, target, link = tmp_path / 'first', tmp_path / 'elsewhere', tmp_path / 'link'
    target.write_text('keep\n')
    link.symlink_to(target)
    record = run_task(tmp_path, [spec(first, 'x\n'), spec(link, 'x\n'), spec(tmp_path / 'no' / 'such', 'x\n')])
    assert record['status'] == 'failed'
    message = record['result']['msg']
    assert '%s: refusing to replace a symlink' % link in message
    assert '%s: its directory does not exist' % (tmp_path / 'no' / 'such') in message
    assert message.endswith('nothing was written')
    assert not first.exists() and target.read_text() == 'keep\n'


def test_a_new_file_is_never_readable_with_a_wider_mode(tmp_path):
    secret = tmp_path / 'secret'
    record = run_task(tmp_path, [spec(secret, 'token\n', '0600')])
    assert record['status'] == 'changed' and mode(secret) == 0o600


def test_an_unknown_owner_is_refused_before_anything_is_written(tmp_path):
    first, second = tmp_path / 'first', tmp_path / 'second'
    record = run_task(tmp_path, [spec(first, 'x\n'), dict(spec(second, 'x\n'), owner='no-such-account-here')])
    assert record['status'] == 'failed'
    said = '%s: owner no-such-account-here does not exist on this host: nothing was written' % second
    assert record['result']['msg'] == said
    assert not first.exists()


def test_a_mode_that_is_not_octal_is_refused(tmp_path):
    record = run_task(tmp_path, [spec(tmp_path / 'file', 'x\n', 'u+rwx')])
    assert record['status'] == 'failed' and 'mode u+rwx is not an octal mode' in record['result']['msg']
    assert not (tmp_path / 'file').exists()
