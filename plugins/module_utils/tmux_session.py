# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmux_session plans, then applies.

``plan_session`` is pure: from a ``ServerState`` (``tmux.read_server``), the task's parameters
and the server's owner it makes a ``Plan``, the ordered steps that bring the session in line,
each a description (what the module reports in ``actions``) and the operation that does it, and
the session as --diff shows it before and after. ``apply_plan`` runs the steps; check mode does
not. ``refusal`` is what the host must offer before the plan is made at all. ``start_commands``
writes the plan for a server that does not run yet as command lines, for the host role's boot
service: the session it makes at boot is the one the module makes.
"""

import grp
import os
import pwd
from collections import namedtuple
from dataclasses import dataclass, field
from typing import Optional

from ansible_collections.pairing.tmux.plugins.module_utils.managed_keys import canonical_name
from ansible_collections.pairing.tmux.plugins.module_utils.tmux import (
    ACCESS_MIN_VERSION,
    ServerState,
    TmuxError,
    is_guest_account,
    supports_access,
)

# The module's options; the tmux_start_commands filter validates the boot service's session with them too.
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

# Printed by the commands that make a window, so that its further panes split that window.
WINDOW_ID = ('-P', '-F', '#{window_id}')

# A command line of start_commands: the program and its arguments, and whether it needs root.
Command = namedtuple('Command', 'argv as_root')


class TmuxCommand(namedtuple('TmuxCommand', 'args splits window', defaults=((), None))):
    """A tmux command. ``splits`` are the further panes of the window it makes (``WINDOW_ID``):
    split-window arguments without the target. ``window`` names that window as a target
    (``=SESSION:=NAME``), for command lines that cannot read the id tmux prints."""

    def run(self, tmux):
        output = tmux.run(*self.args)[1]
        for split in self.splits:
            tmux.run('split-window', '-d', '-t', output.strip(), *split)

    def commands(self, tmux):
        """As command lines after ``tmux``, the program and its -S option."""
        return [Command((*tmux, *self.args), False)] + [
            Command((*tmux, 'split-window', '-d', '-t', self.window, *split), False) for split in self.splits]


class MakeDirectory(namedtuple('MakeDirectory', 'path mode owner group')):
    def run(self, tmux):
        os.makedirs(self.path, mode=self.mode)
        os.chown(self.path, pwd.getpwnam(self.owner).pw_uid, grp.getgrnam(self.group).gr_gid if self.group else -1)


class SetGroup(namedtuple('SetGroup', 'path group')):
    def run(self, tmux):
        os.chown(self.path, -1, grp.getgrnam(self.group).gr_gid)

    def commands(self, tmux):
        return [Command(('chgrp', self.group, self.path), True)]


class SetMode(namedtuple('SetMode', 'path mode')):
    def run(self, tmux):
        os.chmod(self.path, self.mode)

    def commands(self, tmux):
        return [Command(('chmod', '%04o' % self.mode, self.path), True)]


Step = namedtuple('Step', 'description operation')


class StepFailed(Exception):
    """A step failed; ``actions`` are the steps run, the failed one last."""

    def __init__(self, message, actions):
        super().__init__(message)
        self.actions = actions


@dataclass(frozen=True)
class View:
    """The session as --diff shows it: the variables and access the task manages, and the socket."""

    name: str
    windows: list
    environment: list  # (name, value) pairs; value None when unset
    access: Optional[dict]  # None when the task leaves access alone
    socket: Optional[tuple]  # (group, mode), a part None when unknown; None: no socket line

    def render(self):
        lines = ['session: %s' % self.name, 'windows: %s' % ', '.join(self.windows)]
        lines += ['environment: %s=%s' % pair for pair in self.environment]
        if self.access is not None:
            lines.append('access: %s' % ', '.join('%s (%s)' % (user, 'read-only' if read_only else 'read-write')
                                                  for user, read_only in sorted(self.access.items())))
        if self.socket:
            group, mode = self.socket
            lines.append('socket: %s %s' % (group or '', '' if mode is None else '%04o' % mode))
        return '\n'.join(lines) + '\n'


@dataclass(frozen=True)
class Plan:
    steps: list
    before: Optional[View]  # None: no session
    after: Optional[View]
    access: Optional[dict] = None  # the access the server grants afterwards, when the task manages it
    kicked: list = field(default_factory=list)  # terminals of the clients the kick detaches
    detached: frozenset = frozenset()  # terminals of every client the plan ends (kicked or revoked)
    warnings: list = field(default_factory=list)

    @property
    def actions(self):
        return [step.description for step in self.steps]

    def diff(self):
        return {'before': self.before.render() if self.before else '',
                'after': self.after.render() if self.after else ''}


def socket_mode(params):
    """The socket's wanted mode as a number, or None to leave tmux's own."""
    mode = params['socket_mode'] or ('0660' if params['socket_group'] else None)
    return int(str(mode), 8) if isinstance(mode, str) else mode


def refusal(params, owner, tmux_version):
    """Why the task cannot run on this host, as one line, or None. ``tmux_version`` is only
    needed when the task manages access."""
    try:
        owner_uid = pwd.getpwnam(owner).pw_uid
    except KeyError:
        return 'run_as: no account %s on this host' % owner
    path = params['socket_path']
    directory = os.path.dirname(path)
    for link in (path, directory):
        if os.path.islink(link):
            return '%s is a symbolic link: refusing to use it as the tmux socket' % link
    if os.path.isdir(directory):
        uid = os.lstat(directory).st_uid
        if uid not in (0, owner_uid):
            return ('%s belongs to %s, not to root or %s: refusing to put the tmux socket there'
                    % (directory, _account(uid), owner))
    if params['access'] is not None and not supports_access(tmux_version):
        return ('access needs tmux %d.%d or later for server-access; this host has %s: upgrade tmux, '
                'or leave access out' % (*ACCESS_MIN_VERSION, '%d.%d' % tmux_version if tmux_version
                                         else 'an unknown version'))
    if params['state'] == 'absent':
        return None
    for entry in params['access'] or []:
        if not _known(pwd.getpwnam, entry['user']):
            return 'access: no account %s on this host (create it, or remove it from access)' % entry['user']
    if params['socket_group'] and not _known(grp.getgrnam, params['socket_group']):
        return 'socket_group: no group %s on this host' % params['socket_group']
    return None


def plan_session(state, params, owner):
    """The plan that brings the server ``state`` in line with the task's ``params``."""
    name = params['name']
    before = _view(state, params) if state.exists else None
    if params['state'] == 'absent':
        kill = Step('kill session %s' % name, TmuxCommand(('kill-session', '-t', '=' + name)))
        return Plan([kill] if state.exists else [], before, after=None)

    steps = []
    if not state.socket_directory_exists:
        directory, group = os.path.dirname(params['socket_path']), params['socket_group']
        steps.append(Step('create directory %s' % directory,
                          MakeDirectory(directory, 0o750 if group else 0o700, owner, group)))
    windows = _missing_windows(state, params['windows'])
    steps += _window_steps(state, name, params['environment'], windows)
    # Without a server the socket is one that tmux is about to make: its group and mode are unknown.
    socket = state.socket if state.running else (None, None)
    steps += _socket_steps(socket, params)

    access, warnings, revoked = None, [], set()
    if params['access'] is not None:
        access, warnings = _wanted_access(params['access'], owner)
        current = state.access or {}
        steps += _access_steps(current, access)
        revoked = set(current) - set(access)
    # tmux itself detaches the clients of an account whose access it revokes.
    kicked = [client for client in state.clients
              if client['account'] not in revoked and _kicked(client, params['kick'], owner)]
    steps += [Step('detach %s (%s)' % (client['tty'], client['github_user'] or client['account']),
                   TmuxCommand(('detach-client', '-t', client['tty']))) for client in kicked]

    after = View(name, state.windows + [window['name'] for window in windows if window['name']],
                 [(key, str(value)) for key, value in sorted(params['environment'].items())],
                 access, _socket_after(socket, params))
    detached = frozenset(client['tty'] for client in state.clients if client['account'] in revoked or client in kicked)
    return Plan(steps, before, after, access=access, kicked=[client['tty'] for client in kicked], detached=detached,
                warnings=warnings)


def apply_plan(plan, tmux):
    done = []
    for step in plan.steps:
        done.append(step.description)
        try:
            step.operation.run(tmux)
        except (TmuxError, OSError) as error:
            raise StepFailed('%s: %s' % (step.description, error), done) from error


def start_commands(params, owner):
    """The plan for a server that does not run yet, as ``Command`` lines: how a boot service
    makes the session the module makes, socket group and mode and access included. The socket's
    directory must exist before (the host role's tmpfiles.d entry makes it). A service cannot
    read the window id tmux prints, so a window's further panes target it by name: ValueError
    for one that tmux cannot find by name."""
    names = [window['name'] for window in params['windows']]
    for window in params['windows']:
        if window['panes'][1:] and ('.' in window['name'] or names.count(window['name']) > 1):
            raise ValueError('window %s: its further panes need a target by name, which tmux cannot find for a name '
                             'with a dot or one that two windows share' % window['name'])
    plan = plan_session(ServerState(socket_directory_exists=True), params, owner)
    tmux = ('tmux', '-S', params['socket_path'])
    return [command for step in plan.steps for command in step.operation.commands(tmux)]


def _view(state, params):
    return View(params['name'], state.windows,
                [(key, state.environment.get(key)) for key in sorted(params['environment'])],
                (state.access or {}) if params['access'] is not None else None, state.socket)


def _missing_windows(state, windows):
    """The windows to create: all of them (a default one if none is named) for a new session,
    else the named ones it lacks. The first of a new session's is the session's own."""
    if not state.exists:
        return windows or [{'name': None, 'panes': []}]
    present = set(state.windows)
    return [window for window in windows if window['name'] and window['name'] not in present]


def _window_steps(state, name, environment, windows):
    steps = []
    if not state.exists:
        first, windows = windows[0], windows[1:]
        args = ['new-session', '-d', *WINDOW_ID, '-s', name, '-x', '200', '-y', '50']
        args += ['-n', first['name']] if first['name'] else []
        for key, value in sorted(environment.items()):
            args += ['-e', '%s=%s' % (key, value)]
        steps.append(Step('create session %s' % name, _creating(args, first, name)))
    for window in windows:
        args = ['new-window', '-d', *WINDOW_ID, '-t', '=' + name + ':', '-n', window['name']]
        steps.append(Step('create window %s' % window['name'], _creating(args, window, name)))
    if state.exists:
        steps += [Step('set environment %s' % key, TmuxCommand(('set-environment', '-t', '=' + name, key, str(value))))
                  for key, value in sorted(environment.items()) if state.environment.get(key) != str(value)]
    return steps


def _creating(args, window, session):
    """The command that makes ``window`` of ``session``, running its first pane's command, and
    splits for the others."""
    panes = window['panes']
    first = [panes[0]['command']] if panes and panes[0]['command'] else []
    splits = tuple(('-h' if pane['split'] == 'horizontal' else '-v', *([pane['command']] if pane['command'] else []))
                   for pane in panes[1:])
    return TmuxCommand((*args, *first), splits, '=%s:=%s' % (session, window['name']) if splits else None)


def _socket_after(socket, params):
    """(group, mode) of the socket after the plan, None when the task and the state say nothing of it."""
    if socket is None:
        return None
    wanted_mode = socket_mode(params)
    group, mode = params['socket_group'] or socket[0], socket[1] if wanted_mode is None else wanted_mode
    return None if group is None and mode is None else (group, mode)


def _socket_steps(socket, params):
    if socket is None:
        return []
    group, mode = socket
    path = params['socket_path']
    wanted_mode = socket_mode(params)
    steps = []
    if params['socket_group'] and group != params['socket_group']:
        steps.append(Step('socket group %s' % params['socket_group'], SetGroup(path, params['socket_group'])))
    if wanted_mode is not None and mode != wanted_mode:
        steps.append(Step('socket mode %04o' % wanted_mode, SetMode(path, wanted_mode)))
    return steps


def _wanted_access(entries, owner):
    wanted, warnings = {}, []
    for entry in entries:
        if not is_guest_account(entry['user'], owner):
            warnings.append('access: %s always has access to its own server; entry ignored' % entry['user'])
        else:
            wanted[entry['user']] = entry['read_only']
    return wanted, warnings


def _access_steps(current, wanted):
    steps = [Step('revoke %s' % user, TmuxCommand(('server-access', '-d', user)))
             for user in sorted(set(current) - set(wanted))]
    for user, read_only in sorted(wanted.items()):
        if user not in current:
            steps.append(Step('allow %s' % user, TmuxCommand(('server-access', '-a', user))))
        if current.get(user) != read_only:
            steps.append(Step('%s %s' % ('read-only' if read_only else 'read-write', user),
                              TmuxCommand(('server-access', '-r' if read_only else '-w', user))))
    return steps


def _kicked(client, selector, owner):
    if not selector:
        return False
    return (client['account'] in selector['accounts']
            or client['github_user'] in {canonical_name(name) for name in selector['github_users']}
            or (selector['all_guests'] and is_guest_account(client['account'], owner)))


def _known(lookup, name):
    try:
        lookup(name)
    except KeyError:
        return False
    return True


def _account(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return 'uid %d' % uid
