# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replace a file atomically without its content ever being readable with a wider mode.

``AnsibleModule.atomic_move`` gives a file that did not exist ``0666 & ~umask`` and leaves
the caller to chmod it afterwards: for a moment a secret is readable by every local account.
``write_atomic`` creates its temporary file with mode 0600 itself (``O_CREAT | O_EXCL``, so
nothing that was there before, a symlink included, is ever opened), writes and fsyncs it,
sets the final mode on the open file, and renames it over the destination.  Readers see the
old file or the new one, each complete, and never a mode wider than the one asked for.
"""

import contextlib
import errno
import os
import stat

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0)


class UnsafeDestination(OSError):
    """The destination is a symlink or not a regular file: nothing was written."""


def write_atomic(path, text, mode=0o600):
    """Write ``text`` (str, UTF-8, or bytes) to ``path`` atomically with ``mode`` exactly.

    The directory must exist.  A symlink or anything but a regular file at ``path`` is refused
    (UnsafeDestination), so the write cannot be steered elsewhere.  The new file belongs to
    the writing process's user and group.
    """
    data = text.encode('utf-8') if isinstance(text, str) else bytes(text)
    path = os.path.abspath(path)
    refuse_unsafe(path)
    directory, name = os.path.split(path)
    fd, temp = _create_temp(directory, name)
    try:
        with os.fdopen(fd, 'wb') as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
            # The umask narrowed nothing that matters here (0600 at most); set the asked mode exactly.
            os.fchmod(stream.fileno(), mode)
        refuse_unsafe(path)  # a symlink put there meanwhile is refused too, not replaced
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_directory(directory)


def refuse_unsafe(path):
    """Raise UnsafeDestination when ``path`` is a symlink or not a regular file (nothing there is fine)."""
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(status.st_mode):
        what = 'a symlink' if stat.S_ISLNK(status.st_mode) else 'not a regular file'
        raise UnsafeDestination(errno.EEXIST, 'refusing to replace %s' % what, path)


def _create_temp(directory, name):
    for _attempt in range(100):
        temp = os.path.join(directory, '.%s.%s.tmp' % (name, os.urandom(6).hex()))
        try:
            return os.open(temp, _FLAGS, 0o600), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, 'no free temporary name', os.path.join(directory, name))


def _fsync_directory(directory):
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
