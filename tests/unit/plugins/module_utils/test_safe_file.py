"""write_atomic: a file replaced whole, never readable with a wider mode than asked, not even while
it is written, and never through a symlink."""

import os
import stat

import pytest

from ansible_collections.pairing.tmux.plugins.module_utils import safe_file
from ansible_collections.pairing.tmux.plugins.module_utils.safe_file import UnsafeDestination, write_atomic


@pytest.fixture
def umask():
    """Sets the process umask for one test, and restores it."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def leftovers(directory, *expected):
    return sorted(set(os.listdir(directory)) - set(expected))


def test_a_new_file_is_0600_even_with_umask_0(tmp_path, umask):
    umask(0)
    path = tmp_path / 'pairing.yml'
    write_atomic(str(path), '{"authtoken": "s3cret"}\n', 0o600)
    assert mode(path) == 0o600
    assert path.read_text() == '{"authtoken": "s3cret"}\n'
    assert leftovers(tmp_path, 'pairing.yml') == []


def test_the_file_is_never_wider_while_it_is_written(tmp_path, umask, monkeypatch):
    """What the rename publishes has the final mode already, and the temporary file never had more."""
    umask(0)
    seen = []
    real_open, real_replace = os.open, os.replace

    def watching_open(path, flags, mode=0o777, **kwargs):
        fd = real_open(path, flags, mode, **kwargs)
        seen.append(('created', stat.S_IMODE(os.fstat(fd).st_mode)))
        return fd

    def watching_replace(source, target):
        seen.append(('renamed', mode(source)))
        return real_replace(source, target)

    monkeypatch.setattr(safe_file.os, 'open', watching_open)
    monkeypatch.setattr(safe_file.os, 'replace', watching_replace)
    write_atomic(str(tmp_path / 'pairing.yml'), 'token', 0o600)
    assert seen[:2] == [('created', 0o600), ('renamed', 0o600)]


def test_the_mode_asked_for_exactly_whatever_the_umask(tmp_path, umask):
    umask(0o077)
    write_atomic(str(tmp_path / 'unit.service'), '[Unit]\n', 0o644)
    assert mode(tmp_path / 'unit.service') == 0o644


def test_content_is_intact_text_or_bytes(tmp_path):
    text = 'ünïcode ✓\n' + 'x' * 200000 + '\n\x00end'
    write_atomic(str(tmp_path / 'a'), text)
    assert (tmp_path / 'a').read_bytes() == text.encode('utf-8')
    write_atomic(str(tmp_path / 'b'), b'\xff\xfe raw')
    assert (tmp_path / 'b').read_bytes() == b'\xff\xfe raw'


def test_an_existing_file_is_replaced_with_the_new_mode(tmp_path):
    path = tmp_path / 'pairing.yml'
    path.write_text('old token and much more text than the new one\n')
    path.chmod(0o644)
    before = os.stat(path).st_ino
    write_atomic(str(path), 'new\n', 0o600)
    assert path.read_text() == 'new\n' and mode(path) == 0o600
    assert os.stat(path).st_ino != before  # a new file renamed over it: readers see one or the other
    assert leftovers(tmp_path, 'pairing.yml') == []


def test_a_symlink_at_the_destination_is_refused(tmp_path):
    target = tmp_path / 'elsewhere'
    target.write_text('untouched\n')
    target.chmod(0o644)
    link = tmp_path / 'pairing.yml'
    link.symlink_to(target)
    with pytest.raises(UnsafeDestination, match='symlink'):
        write_atomic(str(link), 'token', 0o600)
    assert os.path.islink(link) and target.read_text() == 'untouched\n' and mode(target) == 0o644
    assert leftovers(tmp_path, 'pairing.yml', 'elsewhere') == []


def test_a_dangling_symlink_and_a_directory_are_refused(tmp_path):
    (tmp_path / 'dangling').symlink_to(tmp_path / 'nowhere')
    with pytest.raises(UnsafeDestination, match='symlink'):
        write_atomic(str(tmp_path / 'dangling'), 'token')
    assert not (tmp_path / 'nowhere').exists()
    (tmp_path / 'dir').mkdir()
    with pytest.raises(UnsafeDestination, match='not a regular file'):
        write_atomic(str(tmp_path / 'dir'), 'token')
    assert leftovers(tmp_path, 'dangling', 'dir') == []


def test_a_symlink_put_there_while_writing_is_refused_too(tmp_path, monkeypatch):
    target = tmp_path / 'elsewhere'
    target.write_text('untouched\n')
    path = tmp_path / 'pairing.yml'
    real_fchmod = os.fchmod

    def racing_fchmod(fd, mode):
        path.symlink_to(target)
        return real_fchmod(fd, mode)

    monkeypatch.setattr(safe_file.os, 'fchmod', racing_fchmod)
    with pytest.raises(UnsafeDestination):
        write_atomic(str(path), 'token')
    assert os.path.islink(path) and target.read_text() == 'untouched\n'
    assert leftovers(tmp_path, 'pairing.yml', 'elsewhere') == []


def test_no_directory_no_file_and_nothing_left(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_atomic(str(tmp_path / 'missing' / 'pairing.yml'), 'token')
    assert leftovers(tmp_path) == []
