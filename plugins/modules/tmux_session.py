#!/usr/bin/python
# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: tmux_session
short_description: The shared tmux session, who may reach it, who is in it, and kicking guests out
version_added: 0.1.0
description:
  - Ensures a tmux session with named windows and panes exists on an explicit server socket,
    owned by O(run_as). An existing session is never killed and re-created; missing windows
    are added and the environment is brought in line, so pane processes survive a re-run.
  - Grants other accounts access to the server with C(server-access) (tmux 3.3 or later),
    read-write or read-only, and gives the socket the group and mode they need. tmux keeps
    access in memory only, so it is applied again on every run; accounts no longer listed
    lose access and their clients are detached.
  - Returns the attached clients, with the GitHub user that the pairing attach wrapper
    recorded for each (see the collection's C(docs/client-records.md)), and detaches
    clients by GitHub user, by account, or every guest.
author: pairing.tmux contributors (@pairing-tmux)
options:
  name:
    description: The session name.
    type: str
    default: pairing
  state:
    description: V(absent) ends the session (the server exits with its last session).
    type: str
    choices: [present, absent]
    default: present
  socket_path:
    description:
      - The server's socket (C(tmux -S)). Refused when it is a symbolic link, or when its
        directory is a symbolic link or belongs to another account than root or O(run_as).
      - A missing directory is created, owned by O(run_as) and O(socket_group).
    type: path
    default: /run/pairing/tmux.sock
  socket_group:
    description: Group given to the socket (and a new socket directory), for the accounts in O(access).
    type: str
  socket_mode:
    description:
      - Mode of the socket. tmux creates it C(0600) whatever the umask, and again after
        C(SIGUSR1), so it is set on every run.
      - Defaults to C(0660) when O(socket_group) is given, else the socket is left as tmux made it.
    type: raw
  run_as:
    description: The account that owns the tmux server and whose shells run in the panes. Defaults to the module's user.
    type: str
  windows:
    description:
      - Windows of the session, in order. Only missing windows are created (with their
        panes); existing ones are left as they are.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Window name.
        type: str
        required: true
      panes:
        description: Panes of a new window; the first is the window itself, each further one a split.
        type: list
        elements: dict
        default: []
        suboptions:
          command:
            description: Command the pane runs (through the account's shell). Default a shell.
            type: str
          split:
            description: How a further pane splits the window.
            type: str
            choices: [horizontal, vertical]
            default: vertical
  environment:
    description: Session environment. Changed values apply to panes started afterwards.
    type: dict
    default: {}
  access:
    description:
      - Accounts allowed to attach, as dicts C({user, read_only}). The list is authoritative
        - accounts tmux allows that are not listed lose access and are detached. Leave it
        out to leave access alone.
      - Needs tmux 3.3 or later.
    type: list
    elements: dict
    suboptions:
      user:
        description: A local account.
        type: str
        required: true
      read_only:
        description: Its clients cannot type into the session.
        type: bool
        default: false
  kick:
    description: Clients to detach.
    type: dict
    suboptions:
      github_users:
        description: Clients that the attach wrapper recorded for these GitHub users (compared case-insensitively).
        type: list
        elements: str
        default: []
      accounts:
        description: Clients of these local accounts.
        type: list
        elements: str
        default: []
      all_guests:
        description: Every client whose account is not the server's owner.
        type: bool
        default: false
  records_dir:
    description: Where the attach wrapper records which GitHub user each client is.
    type: path
    default: /run/pairing/clients
attributes:
  check_mode:
    description: Reports what would change and changes nothing.
    support: full
  diff_mode:
    description: Shows the session's windows, environment, access and socket before and after.
    support: full
  platform:
    description: Targets with tmux (3.3 or later for O(access)).
    support: full
    platforms: posix
notes:
  - tmux grants access per Unix account, so guests who share an account share its
    read-only or read-write setting.
"""

EXAMPLES = r"""
- name: The pairing session, owned by the workstation's owner, reachable by the alias accounts
  pairing.tmux.tmux_session:
    name: pairing
    run_as: dev
    socket_path: /run/pairing/tmux.sock
    socket_group: pairing
    windows:
      - name: code
      - name: tunnel
        panes:
          - command: journalctl -f -u pairing-tunnel
          - command: cat /run/pairing/ssh-command; exec sh
            split: horizontal
    access:
      - user: tmux
      - user: tmux-ro
        read_only: true

- name: Kick alice out
  pairing.tmux.tmux_session:
    run_as: dev
    kick:
      github_users: [alice]

- name: End the session
  pairing.tmux.tmux_session:
    run_as: dev
    state: absent
"""

RETURN = r"""
socket_path:
  description: The server's socket.
  returned: always
  type: str
  sample: /run/pairing/tmux.sock
actions:
  description: What the run did (or, in check mode, would do).
  returned: always
  type: list
  elements: str
  sample: ["create session pairing", "allow tmux-ro (read-only)"]
clients:
  description: Clients attached to the session after the run.
  returned: when state is present
  type: list
  elements: dict
  contains:
    tty:
      description: The client's terminal.
      type: str
      sample: /dev/pts/3
    pid:
      description: The tmux client's process id.
      type: int
      sample: 4242
    account:
      description: The local account the client runs as.
      type: str
      sample: tmux
    github_user:
      description: The GitHub user the attach wrapper recorded for the client (lowercase), or null.
      type: str
      sample: alice
    read_only:
      description: Whether the client is read-only.
      type: bool
      sample: false
    since:
      description: When the client attached, in UTC, ISO 8601.
      type: str
      sample: "2026-11-24T10:32:07Z"
panes:
  description: The session's panes.
  returned: when state is present
  type: list
  elements: dict
  sample: [{"window": "code", "window_index": 0, "index": 0, "pid": 1234}]
access:
  description: Accounts tmux lets attach, and whether read-only.
  returned: when access is given
  type: dict
  sample: {"tmux": false, "tmux-ro": true}
kicked:
  description: Terminals of the clients detached.
  returned: always
  type: list
  elements: str
  sample: [/dev/pts/3]
"""

import datetime
import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pairing.tmux.plugins.module_utils.managed_keys import canonical_name
from ansible_collections.pairing.tmux.plugins.module_utils.tmux import (
    ACCESS_MIN_VERSION,
    Tmux,
    TmuxError,
    read_client_records,
)

PANE = dict(command=dict(type='str'), split=dict(type='str', choices=['horizontal', 'vertical'], default='vertical'))
ARGUMENT_SPEC = dict(
    name=dict(type='str', default='pairing'),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    socket_path=dict(type='path', default='/run/pairing/tmux.sock'),
    socket_group=dict(type='str'),
    socket_mode=dict(type='raw'),
    run_as=dict(type='str'),
    windows=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str', required=True),
        panes=dict(type='list', elements='dict', default=[], options=PANE))),
    environment=dict(type='dict', default={}),
    access=dict(type='list', elements='dict', options=dict(
        user=dict(type='str', required=True),
        read_only=dict(type='bool', default=False))),
    kick=dict(type='dict', options=dict(
        github_users=dict(type='list', elements='str', default=[]),
        accounts=dict(type='list', elements='str', default=[]),
        all_guests=dict(type='bool', default=False))),
    records_dir=dict(type='path', default='/run/pairing/clients'),
)


class Session:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.name = self.params['name']
        self.owner = self.params['run_as'] or pwd.getpwuid(os.geteuid()).pw_name
        self.actions = []
        self.tmux = Tmux(module, self.params['socket_path'], self.params['run_as'])

    def act(self, description, *command):
        """Record an action; run its tmux command unless in check mode."""
        self.actions.append(description)
        if command and not self.module.check_mode:
            self.tmux.run(*command)

    def check_socket_path(self):
        path = self.params['socket_path']
        directory = os.path.dirname(path)
        if os.path.islink(path) or os.path.islink(directory):
            self.fail('%s is a symbolic link: refusing to use it as the tmux socket' % (
                path if os.path.islink(path) else directory))
        owner_uid = pwd.getpwnam(self.owner).pw_uid
        if os.path.isdir(directory):
            uid = os.lstat(directory).st_uid
            if uid not in (0, owner_uid):
                self.fail('%s belongs to %s, not to root or %s: refusing to put the tmux socket there'
                          % (directory, _account(uid), self.owner))
        elif self.params['state'] == 'present':
            self.actions.append('create directory %s' % directory)
            if not self.module.check_mode:
                os.makedirs(directory, mode=0o750 if self.params['socket_group'] else 0o700)
                os.chown(directory, owner_uid, self._gid() if self.params['socket_group'] else -1)

    def state(self, wanted=False):
        """What --diff shows: the session as it is, or as this run makes it (``wanted``)."""
        params = self.params
        exists = self.tmux.has_session(self.name)
        windows = [pane['window'] for pane in self.tmux.panes(self.name) if pane['index'] == 0] if exists else []
        environment = self.tmux.environment(self.name) if exists else {}
        access = {}
        if params['access'] is not None and self.tmux.running():
            access = {user: read_only for user, read_only in self.tmux.access().items()
                      if user not in (self.owner, 'root')}
        socket = params['socket_path']
        group_mode = ''
        if os.path.exists(socket):
            info = os.lstat(socket)
            group_mode = '%s %04o' % (_group(info.st_gid), stat.S_IMODE(info.st_mode))
        if wanted:
            exists = params['state'] == 'present'
            windows = windows + [w['name'] for w in params['windows'] if w['name'] and w['name'] not in windows]
            environment = dict(environment, **{key: str(value) for key, value in params['environment'].items()})
            if params['access'] is not None:
                access = {entry['user']: entry['read_only'] for entry in params['access']
                          if entry['user'] not in (self.owner, 'root')}
            mode = self.socket_mode()
            if exists and (params['socket_group'] or mode is not None):
                group, current_mode = group_mode.split() if group_mode else ('', '')
                wanted_mode = current_mode if mode is None else '%04o' % mode
                group_mode = '%s %s' % (params['socket_group'] or group, wanted_mode)
        if not exists:
            return ''
        lines = ['session: %s' % self.name, 'windows: %s' % ', '.join(windows)]
        lines += ['environment: %s=%s' % (key, environment.get(key)) for key in sorted(params['environment'])]
        if params['access'] is not None:
            lines.append('access: %s' % ', '.join('%s (%s)' % (user, 'read-only' if read_only else 'read-write')
                                                  for user, read_only in sorted(access.items())))
        if group_mode:
            lines.append('socket: %s' % group_mode)
        return '\n'.join(lines) + '\n'

    def ensure_session(self):
        windows = self.params['windows'] or [{'name': None, 'panes': []}]
        if not self.tmux.has_session(self.name):
            first = windows[0]
            command = ['new-session', '-d', '-s', self.name, '-x', '200', '-y', '50']
            command += ['-n', first['name']] if first['name'] else []
            for key, value in sorted(self.params['environment'].items()):
                command += ['-e', '%s=%s' % (key, value)]
            command += self._first_command(first)
            self.act('create session %s' % self.name, *command)
            if not self.module.check_mode:
                self._split('=' + self.name + ':^', first)
            self._add_windows(windows[1:])
            return
        present = {pane['window'] for pane in self.tmux.panes(self.name)}
        self._add_windows([window for window in windows if window['name'] and window['name'] not in present])
        current = self.tmux.environment(self.name)
        for key, value in sorted(self.params['environment'].items()):
            if current.get(key) != str(value):
                self.act('set environment %s' % key, 'set-environment', '-t', '=' + self.name, key, str(value))

    def _add_windows(self, windows):
        for window in windows:
            command = ['new-window', '-d', '-P', '-F', '#{window_id}', '-t', '=' + self.name + ':', '-n',
                       window['name'], *self._first_command(window)]
            self.actions.append('create window %s' % window['name'])
            if not self.module.check_mode:
                window_id = self.tmux.run(*command)[1].strip()
                self._split(window_id, window)

    def _split(self, target, window):
        for pane in window['panes'][1:]:
            flag = '-h' if pane['split'] == 'horizontal' else '-v'
            self.tmux.run('split-window', '-d', flag, '-t', target, *([pane['command']] if pane['command'] else []))

    @staticmethod
    def _first_command(window):
        panes = window['panes']
        return [panes[0]['command']] if panes and panes[0]['command'] else []

    def socket_mode(self):
        """The socket's wanted mode as a number, or None to leave tmux's own."""
        mode = self.params['socket_mode'] or ('0660' if self.params['socket_group'] else None)
        return int(str(mode), 8) if isinstance(mode, str) else mode

    def ensure_socket(self):
        path = self.params['socket_path']
        wanted = self.socket_mode()
        if not os.path.exists(path):
            return
        info = os.lstat(path)
        if self.params['socket_group'] and info.st_gid != self._gid():
            self.actions.append('socket group %s' % self.params['socket_group'])
            if not self.module.check_mode:
                os.chown(path, -1, self._gid())
        if wanted is not None and stat.S_IMODE(info.st_mode) != wanted:
            self.actions.append('socket mode %04o' % wanted)
            if not self.module.check_mode:
                os.chmod(path, wanted)

    def ensure_access(self):
        wanted = {}
        for entry in self.params['access']:
            try:
                pwd.getpwnam(entry['user'])
            except KeyError:
                self.fail('access: no account %s on this host (create it, or remove it from access)' % entry['user'])
            if entry['user'] in (self.owner, 'root'):
                self.module.warn('access: %s always has access to its own server; entry ignored' % entry['user'])
                continue
            wanted[entry['user']] = entry['read_only']
        current = self.tmux.access() if self.tmux.running() else {}
        current = {user: read_only for user, read_only in current.items() if user not in (self.owner, 'root')}
        for user in sorted(set(current) - set(wanted)):
            self.act('revoke %s' % user, 'server-access', '-d', user)
        for user, read_only in sorted(wanted.items()):
            if user not in current:
                self.act('allow %s' % user, 'server-access', '-a', user)
            if current.get(user) != read_only:
                self.act('%s %s' % ('read-only' if read_only else 'read-write', user),
                         'server-access', '-r' if read_only else '-w', user)
        return wanted

    def kick(self, clients, records):
        selector = self.params['kick']
        github_users = {canonical_name(name) for name in selector['github_users']}
        kicked = []
        for client in clients:
            github_user = _record(client, records).get('github_user')
            if (client['account'] in selector['accounts'] or github_user in github_users
                    or (selector['all_guests'] and client['account'] not in (self.owner, 'root'))):
                kicked.append(client['tty'])
                self.act('detach %s (%s)' % (client['tty'], github_user or client['account']),
                         'detach-client', '-t', client['tty'])
        return kicked

    def fail(self, msg):
        self.module.fail_json(msg=msg, actions=self.actions)

    def _gid(self):
        try:
            return grp.getgrnam(self.params['socket_group']).gr_gid
        except KeyError:
            self.fail('socket_group: no group %s on this host' % self.params['socket_group'])


def _group(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _account(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return 'uid %d' % uid


def _record(client, records):
    """The wrapper's record for a client: keyed by the wrapper's pid, which is the tmux
    client itself, or an ancestor of it when sudo and the watcher started the client
    (read-only guests)."""
    pid = client['pid']
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


def _describe(client, records):
    record = _record(client, records)
    since = client['since']
    return {'tty': client['tty'], 'pid': client['pid'], 'account': client['account'],
            'github_user': record.get('github_user'), 'read_only': client['read_only'],
            'since': datetime.datetime.fromtimestamp(since, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
            if since else None}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    session = Session(module)
    try:
        pwd.getpwnam(session.owner)
    except KeyError:
        module.fail_json(msg='run_as: no account %s on this host' % session.owner)
    result = dict(socket_path=params['socket_path'], kicked=[])
    try:
        session.check_socket_path()
        if params['access'] is not None:
            version = session.tmux.version()
            if version is None or version < ACCESS_MIN_VERSION:
                session.fail('access needs tmux %d.%d or later for server-access; this host has %s: upgrade tmux, '
                             'or leave access out' % (*ACCESS_MIN_VERSION,
                                                      '%d.%d' % version if version else 'an unknown version'))
        if module._diff:
            result['diff'] = dict(before=session.state(), after=session.state(wanted=True))
        if params['state'] == 'absent':
            if session.tmux.has_session(session.name):
                session.act('kill session %s' % session.name, 'kill-session', '-t', '=' + session.name)
            module.exit_json(changed=bool(session.actions), actions=session.actions, **result)

        session.ensure_session()
        if not (module.check_mode and 'create session %s' % session.name in session.actions):
            session.ensure_socket()
            if params['access'] is not None:
                result['access'] = session.ensure_access()
            records = read_client_records(params['records_dir'])
            clients = [client for client in session.tmux.clients() if client['session'] == session.name]
            if params['kick']:
                result['kicked'] = session.kick(clients, records)
                clients = [client for client in clients if client['tty'] not in result['kicked']]
            result['clients'] = [_describe(client, records) for client in clients]
            result['panes'] = session.tmux.panes(session.name) if session.tmux.has_session(session.name) else []
    except TmuxError as error:
        session.fail(str(error))
    module.exit_json(changed=bool(session.actions), actions=session.actions, **result)


if __name__ == '__main__':
    main()
