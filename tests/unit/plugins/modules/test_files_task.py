"""pairing.tmux.files on real files in tmp_path: its main() in this process, with the arguments
and the check and diff flags a task hands it (ansible-core's patch_module_args)."""

import contextlib
import io
import json
import os
import stat

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.pairing.tmux.plugins.modules import files as files_module

OWNER = {'owner': str(os.getuid()), 'group': str(os.getgid())}  # whoever runs the tests


def run_task(tmp_path, files, check=False, diff=False):
    """The task's record: its status (ok, changed, failed) and the module's result."""
    printed = io.StringIO()
    arguments = {'files': files, '_ansible_check_mode': check, '_ansible_diff': diff,
                 '_ansible_remote_tmp': str(tmp_path / 'remote')}
    with patch_module_args(arguments), contextlib.redirect_stdout(printed), pytest.raises(SystemExit):
        files_module.main()
    result = json.loads(printed.getvalue())
    return {'status': 'failed' if result.get('failed') else 'changed' if result.get('changed') else 'ok',
            'result': result}


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


def directory(path, mode='0755'):
    return dict(path=str(path), state='directory', mode=mode, **OWNER)


def test_a_directory_with_its_parents_then_a_file_in_it_in_one_task(tmp_path):
    libexec = tmp_path / 'usr' / 'libexec'
    program = libexec / 'hello'
    files = [directory(libexec), spec(program, '#!/bin/sh\n', '0755')]
    record = run_task(tmp_path, files, check=True, diff=True)
    assert record['result']['changed_paths'] == [str(tmp_path / 'usr'), str(libexec), str(program)]
    assert not (tmp_path / 'usr').exists()

    record = run_task(tmp_path, files, diff=True)
    assert record['result']['changed_paths'] == [str(tmp_path / 'usr'), str(libexec), str(program)]
    assert [diff['after'] for diff in record['result']['diff']] == [{'state': 'directory'}] * 2 + ['#!/bin/sh\n']
    assert mode(tmp_path / 'usr') == mode(libexec) == 0o755 and program.read_text() == '#!/bin/sh\n'
    assert run_task(tmp_path, files)['result']['changed_paths'] == []

    os.chmod(libexec, 0o777)
    record = run_task(tmp_path, files)
    assert record['result']['changed_paths'] == [str(libexec)] and mode(libexec) == 0o755


def test_a_symlink_or_a_file_where_a_directory_goes_is_refused(tmp_path):
    (tmp_path / 'elsewhere').mkdir()
    (tmp_path / 'link').symlink_to(tmp_path / 'elsewhere')
    (tmp_path / 'file').write_text('keep\n')
    entries = [directory(tmp_path / name) for name in ('new', 'link', 'file')]
    record = run_task(tmp_path, entries)
    assert record['status'] == 'failed'
    message = record['result']['msg']
    assert '%s: refusing to replace a symlink with a directory' % (tmp_path / 'link') in message
    assert '%s: refusing to replace a file with a directory' % (tmp_path / 'file') in message
    assert not (tmp_path / 'new').exists() and (tmp_path / 'file').read_text() == 'keep\n'


def test_lines_are_added_to_a_shared_file_and_the_rest_stays(tmp_path):
    deny = tmp_path / 'cron.deny'
    deny.write_text('# the admin\'s\nguest')  # no newline at the end
    os.chmod(deny, 0o644)
    entry = dict(path=str(deny), lines=['tmux', 'guest', 'tmux-ro', 'tmux'], mode='0600', **OWNER)
    record = run_task(tmp_path, [entry], diff=True)
    assert record['result']['changed_paths'] == [str(deny)]
    assert deny.read_text() == '# the admin\'s\nguest\ntmux\ntmux-ro\n' and mode(deny) == 0o600
    assert record['result']['diff'][0]['after'] == deny.read_text()
    assert run_task(tmp_path, [entry])['result']['changed_paths'] == []

    created = tmp_path / 'at.deny'
    run_task(tmp_path, [dict(entry, path=str(created))])
    assert created.read_text() == 'tmux\nguest\ntmux-ro\n'


def test_an_entry_needs_content_or_lines_and_a_directory_takes_neither(tmp_path):
    both = dict(spec(tmp_path / 'both', 'x\n'), lines=['x'])
    neither = dict(path=str(tmp_path / 'neither'), mode='0644', **OWNER)
    record = run_task(tmp_path, [both, neither, dict(directory(tmp_path / 'dir'), lines=['x'])])
    message = record['result']['msg']
    assert '%s: give content or lines, one of them' % (tmp_path / 'both') in message
    assert '%s: give content or lines, one of them' % (tmp_path / 'neither') in message
    assert '%s: a directory takes no content or lines' % (tmp_path / 'dir') in message
    assert not any((tmp_path / name).exists() for name in ('both', 'neither', 'dir'))


def test_validate_checks_new_content_before_anything_is_written(tmp_path):
    program, rule = tmp_path / 'program', tmp_path / 'rule'
    files = [spec(program, 'echo hi\n'), dict(spec(rule, 'denied\n', '0440'), validate='grep -q allowed %s')]
    record = run_task(tmp_path, files, check=True)
    assert record['status'] == 'failed' and str(rule) in record['result']['msg'], record
    assert 'grep -q allowed %s refused it (exit 1)' in record['result']['msg']
    record = run_task(tmp_path, files)
    assert record['status'] == 'failed' and not program.exists() and not rule.exists()

    files[1]['content'] = 'allowed\n'
    assert run_task(tmp_path, files)['result']['changed_paths'] == [str(program), str(rule)]
    assert rule.read_text() == 'allowed\n' and mode(rule) == 0o440
    # Unchanged content is not checked again: a check that refuses everything does not run.
    files[1]['validate'] = 'false %s'
    assert run_task(tmp_path, files)['status'] == 'ok'
