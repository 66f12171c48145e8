"""pairing-confine: a guest's tmux client executes nothing but tmux.

The rendered template runs for real, under this kernel's Landlock. tmux is told to run
commands in a client (`detach-client -E`, `lock-command`) the way a read-write guest could;
the same client without confinement runs each, so every test can fail.
"""

import errno
import importlib.util
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jinja2
import pytest

TEMPLATE = Path(__file__).resolve().parents[2] / 'roles' / 'host' / 'templates' / 'pairing-confine.py.j2'
TMUX = shutil.which('tmux')
ENV = {name: value for name, value in os.environ.items() if not name.startswith('TMUX')}


def render(path):
    path.write_text(jinja2.Environment().from_string(TEMPLATE.read_text()).render(ansible_managed='test') + '\n')
    return path


def confined(script, *argv):
    return [sys.executable, '-I', str(script), *argv]


def run(script, *argv):
    return subprocess.run(confined(script, *argv), capture_output=True, text=True, timeout=10, env=ENV, check=False)


@pytest.fixture(scope='module')
def script(tmp_path_factory):
    return render(tmp_path_factory.mktemp('confine') / 'pairing-confine.py')


@pytest.fixture(scope='module')
def landlock(script):
    """The script, on a kernel that can confine (elsewhere it refuses: see the refusal tests)."""
    probe = run(script, '/bin/true')
    if 'Landlock unavailable' in probe.stderr:
        pytest.skip(probe.stderr.strip())
    return script


@pytest.fixture
def module(script):
    spec = importlib.util.spec_from_file_location('pairing_confine', script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_program_it_names_runs(landlock):
    result = run(landlock, '/bin/true')
    assert (result.returncode, result.stderr) == (0, '')


def test_the_program_cannot_execute_anything_else(landlock):
    result = run(landlock, '/bin/sh', '-c', 'exec /bin/true')
    assert result.returncode != 0
    assert 'Permission denied' in result.stderr


def test_reading_and_writing_files_still_work(landlock, tmp_path):
    out = tmp_path / 'out'
    result = run(landlock, '/bin/sh', '-c', 'read -r first < "$0"; echo "$first"; echo written > "$1"', landlock, out)
    assert (result.returncode, result.stdout, result.stderr) == (0, '# test\n', '')
    assert out.read_text() == 'written\n'


@pytest.mark.parametrize('error', [errno.ENOSYS, errno.EOPNOTSUPP], ids=['ENOSYS', 'EOPNOTSUPP'])
def test_without_landlock_it_refuses_in_one_line_and_runs_nothing(module, monkeypatch, error):
    def no_landlock(number, *args):
        raise OSError(error, os.strerror(error))

    executed = []
    monkeypatch.setattr(module, 'syscall', no_landlock)
    monkeypatch.setattr(module.os, 'execv', lambda *args: executed.append(args))
    monkeypatch.setattr(module.sys, 'argv', ['pairing-confine.py', '/bin/true'])
    with pytest.raises(SystemExit) as exited:
        module.main()
    message = exited.value.code
    assert isinstance(message, str)  # printed to stderr, exit status 1
    assert message.startswith("pairing: this kernel cannot confine the guest's tmux client (Landlock unavailable: ")
    assert message.endswith('refusing to attach')
    assert '\n' not in message
    assert executed == []


def test_a_missing_program_is_named(script):
    result = run(script, '/nonexistent/tmux')
    assert result.returncode == 1
    assert result.stderr.startswith('pairing: cannot run /nonexistent/tmux: ')


# A real tmux: a server on a private socket, a client attached on a pty.


class Client:
    def __init__(self, argv, tmux):
        self.master, terminal = os.openpty()
        self.output = b''
        self.process = subprocess.Popen(
            argv, stdin=terminal, stdout=terminal, stderr=terminal, start_new_session=True, env=ENV
        )
        os.close(terminal)
        deadline = time.monotonic() + 5
        while not tmux('list-clients').stdout:
            assert self.process.poll() is None, self.output
            assert time.monotonic() < deadline, 'the client never attached'
            self.drain(0.02)

    def drain(self, seconds):
        if select.select([self.master], [], [], seconds)[0]:
            try:
                self.output += os.read(self.master, 65536)
            except OSError:  # EIO: the client has exited
                time.sleep(seconds)

    def wait(self):
        deadline = time.monotonic() + 5
        while self.process.poll() is None:
            assert time.monotonic() < deadline, 'the client is still running'
            self.drain(0.02)
        os.close(self.master)
        return self.process.returncode


@pytest.fixture
def tmux(tmp_path):
    if TMUX is None:
        pytest.skip('tmux is not installed')
    socket = str(tmp_path / 'socket')

    def tmux(*args):
        return subprocess.run([TMUX, '-S', socket, *args], capture_output=True, text=True, timeout=5, env=ENV,
                              check=False)

    started = tmux(
        '-f', '/dev/null', 'new-session', '-d', '-x', '80', '-y', '24', ';', 'set', '-g', 'default-shell', '/bin/sh'
    )
    assert started.returncode == 0, started.stderr
    tmux.socket = socket
    yield tmux
    tmux('kill-server')


@pytest.fixture(params=[False, True], ids=['unconfined', 'confined'])
def attach(request, landlock, tmux):
    """Attach a client like the wrapper does, with pairing-confine or (the control) without."""
    argv = [TMUX, '-S', tmux.socket, 'attach']
    return request.param, lambda: Client(confined(landlock, *argv) if request.param else argv, tmux)


def test_detach_client_e_runs_nothing_and_disconnects(attach, tmux, tmp_path):
    is_confined, client = attach
    marker = tmp_path / 'ran'
    guest = client()
    assert tmux('detach-client', '-E', 'touch %s' % marker).returncode == 0
    status = guest.wait()
    assert marker.exists() is not is_confined
    assert (status != 0) is is_confined  # confined: tmux's "execve failed", the guest is gone
    assert tmux('has-session').returncode == 0


def test_the_lock_command_runs_nothing_and_the_guest_stays(attach, tmux, tmp_path):
    is_confined, client = attach
    marker = tmp_path / 'ran'
    assert tmux('set', '-g', 'lock-command', 'touch %s' % marker).returncode == 0
    guest = client()
    assert tmux('lock-client').returncode == 0
    # The client runs the lock command before it reads the detach: it was still there after it.
    assert tmux('detach-client').returncode == 0
    assert guest.wait() == 0
    assert marker.exists() is not is_confined


def test_the_interpreter_it_must_allow_runs_nothing_either(landlock, module, tmux, tmp_path):
    """The ELF interpreter as default-shell gets `-c CMD`: it looks for a library named -c."""
    marker = tmp_path / 'ran'
    loader = os.path.realpath(module.interpreter(TMUX))
    assert tmux('set', '-g', 'default-shell', loader).returncode == 0
    assert tmux('show', '-gv', 'default-shell').stdout.strip() == loader
    guest = Client(confined(landlock, TMUX, '-S', tmux.socket, 'attach'), tmux)
    assert tmux('detach-client', '-E', 'touch %s' % marker).returncode == 0
    guest.wait()
    assert not marker.exists()
    assert tmux('has-session').returncode == 0
