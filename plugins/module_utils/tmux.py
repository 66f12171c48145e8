# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tmux command line, spoken with argument lists and parsed through explicit -F formats.

Also reads the attach wrapper's client records (docs/client-records.md): one file per
attached guest, ``/run/pairing/clients/<pid>``, ``key=value`` lines, so that a tmux client
(known by its process id) can be tied to the GitHub user whose key logged in.

``read_server`` is the one place that reads a server's state, for tmux_session (which plans
from it) and tmux_session_info alike.
"""

import datetime
import grp
import os
import pwd
import re
import stat
from dataclasses import dataclass, field
from typing import Optional

from ansible_collections.pairing.tmux.plugins.module_utils.managed_keys import canonical_name, is_marked_name

ACCESS_MIN_VERSION = (3, 3)
_FIELD = '\t'
CLIENT_FORMAT = _FIELD.join(('#{client_pid}', '#{client_tty}', '#{client_user}', '#{client_readonly}',
                             '#{client_created}', '#{session_name}'))
PANE_FORMAT = _FIELD.join(('#{window_index}', '#{window_name}', '#{pane_index}', '#{pane_pid}'))
_RECORD_KEYS = ('github_user', 'account', 'read_only', 'since', 'from', 'tty')


class TmuxError(Exception):
    """A tmux command failed; the message says which and what tmux said."""


def current_account():
    return pwd.getpwuid(os.geteuid()).pw_name


def supports_access(version):
    """Whether a tmux of this version (``parse_version``) has ``server-access``."""
    return version is not None and version >= ACCESS_MIN_VERSION


def parse_version(text):
    """``tmux 3.3a`` -> (3, 3); ``tmux next-3.4`` -> (3, 4); None when unreadable."""
    match = re.search(r'(\d+)\.(\d+)', text or '')
    return (int(match.group(1)), int(match.group(2))) if match else None


def parse_access(text):
    """``server-access -l`` output -> {account: read_only}."""
    access = {}
    for line in text.splitlines():
        match = re.match(r'^(\S+) \(([RW])\)$', line.strip())
        if match:
            access[match.group(1)] = match.group(2) == 'R'
    return access


def parse_clients(text):
    clients = []
    for line in text.splitlines():
        fields = line.split(_FIELD)
        if len(fields) != 6 or not fields[0].isdigit():
            continue
        pid, tty, account, read_only, created, session = fields
        clients.append({'pid': int(pid), 'tty': tty, 'account': account, 'read_only': read_only == '1',
                        'since': int(created) if created.isdigit() else None, 'session': session})
    return clients


def parse_panes(text):
    panes = []
    for line in text.splitlines():
        fields = line.split(_FIELD)
        if len(fields) == 4 and fields[3].isdigit():
            panes.append({'window_index': int(fields[0]), 'window': fields[1], 'index': int(fields[2]),
                          'pid': int(fields[3])})
    return panes


def is_guest_account(account, owner):
    """Whether ``account`` can be a guest: the server's owner and root never are, tmux lets
    both attach whatever ``server-access`` says."""
    return account not in (owner, 'root')


def guest_access(access, owner):
    """``parse_access`` of the guest accounts alone."""
    return {account: read_only for account, read_only in access.items() if is_guest_account(account, owner)}


def parse_environment(text):
    """``show-environment`` -> {name: value}; removed variables (``-NAME``) are left out."""
    return dict(line.split('=', 1) for line in text.splitlines() if '=' in line and not line.startswith('-'))


def read_client_records(directory):
    """{pid: record} from the attach wrapper's files; anything malformed is skipped."""
    records = {}
    if not os.path.isdir(directory):
        return records
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if not name.isdigit() or os.path.islink(path) or not os.path.isfile(path):
            continue
        try:
            with open(path) as handle:
                fields = dict(line.rstrip('\n').split('=', 1) for line in handle if '=' in line)
        except (OSError, UnicodeDecodeError):
            continue
        record = {key: fields[key] for key in _RECORD_KEYS if key in fields}
        # The wrapper writes the name a marker carries (the github_user key predates GitLab guests).
        if is_marked_name(record.get('github_user', '')):
            # Wrappers that read a marker written before names were canonical recorded Alice.
            record['github_user'] = canonical_name(record['github_user'])
            record['read_only'] = record.get('read_only') == '1'
            records[int(name)] = record
    return records


def client_record(pid, records):
    """The wrapper's record for a client: keyed by the wrapper's pid, which is the tmux
    client itself, or an ancestor of it when sudo and the watcher started the client
    (read-only guests)."""
    for _level in range(4):
        if pid in records:
            return records[pid]
        pid = _parent(pid)
    return {}


def _parent(pid):
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return int(handle.read().rsplit(')', 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def describe_client(client, record):
    """A ``parse_clients`` entry as the modules return it, named by its wrapper ``record`` ({} if none)."""
    since = client['since']
    return {'tty': client['tty'], 'pid': client['pid'], 'account': client['account'],
            'github_user': record.get('github_user'), 'read_only': client['read_only'],
            'since': datetime.datetime.fromtimestamp(since, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
            if since else None}


def group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


@dataclass(frozen=True)
class ServerState:
    """What one read of a tmux server shows. Without a server (no socket, or nothing answers on
    it) everything is empty: ``running`` is false, and so is ``exists``."""

    socket_directory_exists: bool = False
    running: bool = False
    exists: bool = False  # the session
    panes: list = field(default_factory=list)  # parse_panes
    environment: dict = field(default_factory=dict)  # the session's
    access: Optional[dict] = None  # guest_access; None when not read
    socket: Optional[tuple] = None  # (group name, mode) of the running server's socket
    clients: list = field(default_factory=list)  # describe_client, of the session's clients

    @property
    def windows(self):
        """Window names in index order."""
        names = {}
        for pane in self.panes:
            names.setdefault(pane['window_index'], pane['window'])
        return [names[index] for index in sorted(names)]


def read_server(tmux, name, owner, records_dir, with_access=False):
    """The server's state and session ``name``'s, read once; ``with_access`` reads
    ``server-access`` (tmux 3.3 or later) too."""
    directory_exists = os.path.isdir(os.path.dirname(tmux.socket_path))
    if not tmux.running():
        # A socket file may outlive its server; tmux replaces it when it starts a new one.
        return ServerState(socket_directory_exists=directory_exists)
    exists = tmux.has_session(name)
    records = read_client_records(records_dir)
    try:
        info = os.lstat(tmux.socket_path)
        socket = (group_name(info.st_gid), stat.S_IMODE(info.st_mode))
    except FileNotFoundError:
        socket = None
    return ServerState(
        socket_directory_exists=directory_exists, running=True, exists=exists,
        panes=tmux.panes(name) if exists else [],
        environment=tmux.environment(name) if exists else {},
        access=guest_access(tmux.access(), owner) if with_access else None,
        socket=socket,
        clients=[describe_client(client, client_record(client['pid'], records))
                 for client in tmux.clients() if client['session'] == name])


class Tmux:
    """One tmux server (``-S socket``), commands run as the account that owns it."""

    def __init__(self, module, socket_path, run_as=None):
        self.module = module
        self.socket_path = socket_path
        self.binary = module.get_bin_path('tmux', required=True)
        self.prefix = []
        if run_as and run_as != current_account():
            self.prefix = [module.get_bin_path('runuser', required=True), '-u', run_as, '--']

    def run(self, *args, check=True):
        command = [*self.prefix, self.binary, '-S', self.socket_path, *args]
        # Arguments reach tmux as given: run_command would otherwise expand ~ and $VARS in them
        # (a pane's command is the owner's shell text, for the pane's shell to read).
        rc, out, err = self.module.run_command(command, environ_update={'LC_ALL': 'C.UTF-8'},
                                               expand_user_and_vars=False)
        if check and rc != 0:
            raise TmuxError('tmux %s failed (exit %d): %s' % (args[0], rc, (err or out).strip()))
        return rc, out, err

    def version(self):
        return parse_version(self.module.run_command([self.binary, '-V'])[1])

    def running(self):
        return self.run('list-sessions', '-F', '#{session_name}', check=False)[0] == 0

    def has_session(self, name):
        return self.run('has-session', '-t', '=' + name, check=False)[0] == 0

    def panes(self, name):
        return parse_panes(self.run('list-panes', '-s', '-t', '=' + name, '-F', PANE_FORMAT)[1])

    def environment(self, name):
        return parse_environment(self.run('show-environment', '-t', '=' + name)[1])

    def access(self):
        return parse_access(self.run('server-access', '-l')[1])

    def clients(self):
        rc, out = self.run('list-clients', '-F', CLIENT_FORMAT, check=False)[:2]
        return parse_clients(out) if rc == 0 else []
