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
seealso:
  - module: pairing.tmux.tmux_session_info
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
    description: Reports the steps a run would take, the plan it would apply, and changes nothing.
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pairing.tmux.plugins.module_utils.tmux import Tmux, TmuxError, current_account, read_server
from ansible_collections.pairing.tmux.plugins.module_utils.tmux_session import (
    ARGUMENT_SPEC,
    StepFailed,
    apply_plan,
    plan_session,
    refusal,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    owner = params['run_as'] or current_account()
    tmux = Tmux(module, params['socket_path'], params['run_as'])
    managed_access = params['access'] is not None
    try:
        refused = refusal(params, owner, tmux.version() if managed_access else None)
        if refused:
            module.fail_json(msg=refused, actions=[])
        state = read_server(tmux, params['name'], owner, params['records_dir'], with_access=managed_access)
        plan = plan_session(state, params, owner)
        for warning in plan.warnings:
            module.warn(warning)
        if not module.check_mode:
            apply_plan(plan, tmux)
        result = dict(socket_path=params['socket_path'], changed=bool(plan.steps), actions=plan.actions,
                      kicked=plan.kicked)
        if module._diff:
            result['diff'] = plan.diff()
        if params['state'] == 'present':
            # New panes have process ids only tmux knows: read again what the run changed.
            report = state if module.check_mode or not plan.steps else read_server(
                tmux, params['name'], owner, params['records_dir'])
            result['clients'] = [client for client in report.clients if client['tty'] not in plan.detached]
            result['panes'] = report.panes
            if managed_access:
                result['access'] = plan.access
    except TmuxError as error:
        module.fail_json(msg=str(error), actions=[])
    except StepFailed as error:
        module.fail_json(msg=str(error), actions=error.actions)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
