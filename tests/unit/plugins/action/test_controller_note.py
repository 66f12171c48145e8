"""pairing.tmux.controller_note in a real playbook run: the note, and a clipboard tool on PATH."""

import os
import stat

from ansible_run import LOCALHOST, MODULE_PLAY, run_playbook


def run_task(tmp_path, args, check=False, path=None):
    env = {'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'local'), 'PATH': path or os.environ['PATH']}
    run = run_playbook(MODULE_PLAY % 'pairing.tmux.controller_note', LOCALHOST,
                       {'module_args': args, 'module_environment': {}}, check=check, env=env)
    return run.result('Module')


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def fake_clipboard(tmp_path):
    """A wl-copy that keeps what it was given, first on PATH."""
    tools = tmp_path / 'bin'
    tools.mkdir()
    (tools / 'wl-copy').write_text('#!/bin/sh\ncat > %s\n' % (tmp_path / 'clipboard'))
    os.chmod(tools / 'wl-copy', 0o755)
    return '%s:%s' % (tools, os.environ['PATH'])


def test_the_note_is_readable_by_everyone_in_check_mode_too_and_the_clipboard_gets_the_command(tmp_path):
    note = tmp_path / 'home' / '.pairing' / 'ssh-command'
    previous = os.umask(0o077)
    try:
        record = run_task(tmp_path, {'path': str(note), 'content': 'box: ssh tmux@box\n', 'clipboard': 'ssh tmux@box'},
                          check=True, path=fake_clipboard(tmp_path))
    finally:
        os.umask(previous)
    assert record['status'] == 'ok', record
    assert record['result']['clipboard'] == 'wl-copy'
    assert (tmp_path / 'clipboard').read_text() == 'ssh tmux@box'
    assert note.read_text() == 'box: ssh tmux@box\n'
    assert mode(note) == 0o644 and mode(note.parent) == 0o755


def test_no_clipboard_text_no_clipboard(tmp_path):
    note = tmp_path / 'ssh-command'
    record = run_task(tmp_path, {'path': str(note), 'content': 'a: x\nb: y\n'}, path=fake_clipboard(tmp_path))
    assert record['status'] == 'ok' and record['result']['clipboard'] is None
    assert not (tmp_path / 'clipboard').exists() and note.read_text() == 'a: x\nb: y\n'


def test_a_symlink_at_the_note_is_not_followed_and_the_run_goes_on_with_a_warning(tmp_path):
    target, note = tmp_path / 'elsewhere', tmp_path / 'ssh-command'
    target.write_text('keep\n')
    note.symlink_to(target)
    record = run_task(tmp_path, {'path': str(note), 'content': 'x\n'})
    assert record['status'] == 'ok' and record['result']['path'] is None
    # (the test's own play templates the whole args, which Ansible warns about too)
    (warning,) = [line for line in record['result']['warnings'] if 'note' in line]
    assert warning.startswith('the note %s on the controller was not written' % note) and 'symlink' in warning
    assert target.read_text() == 'keep\n'
