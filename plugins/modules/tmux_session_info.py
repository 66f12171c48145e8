#!/usr/bin/python
# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: tmux_session_info
short_description: Whether the shared tmux session runs, who is in it, and who may attach
version_added: 0.1.0
description:
  - Reads the tmux server on O(socket_path) and its session O(name), changing nothing and
    starting nothing - the attached clients, with the GitHub user that the pairing attach
    wrapper recorded for each (see the collection's C(docs/client-records.md)), the panes,
    and the accounts tmux lets attach.
  - Without a socket, or with no server answering on it, the session does not exist - no failure.
  - Reads with the same code as M(pairing.tmux.tmux_session), and returns clients and panes as it does.
author: pairing.tmux contributors (@pairing-tmux)
seealso:
  - module: pairing.tmux.tmux_session
options:
  name:
    description: The session name.
    type: str
    default: pairing
  socket_path:
    description: The server's socket (C(tmux -S)).
    type: path
    default: /run/pairing/tmux.sock
  run_as:
    description: The account that owns the tmux server. Defaults to the socket's owner.
    type: str
  records_dir:
    description: Where the attach wrapper records which GitHub user each client is.
    type: path
    default: /run/pairing/clients
attributes:
  check_mode:
    description: Reads the same way in check mode; it never changes anything.
    support: full
  diff_mode:
    description: Nothing to show; it never changes anything.
    support: none
  platform:
    description: Targets with tmux (3.3 or later for RV(access)).
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Who is in the pairing session
  pairing.tmux.tmux_session_info:
  register: pairing_session

- name: Name them
  ansible.builtin.debug:
    msg: "{{ pairing_session.clients | map(attribute='github_user') | select | list }}"
  when: pairing_session.exists
"""

RETURN = r"""
exists:
  description: Whether the server runs and has the session.
  returned: always
  type: bool
  sample: true
clients:
  description: Clients attached to the session; empty when it does not exist.
  returned: always
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
  description: The session's panes; empty when it does not exist.
  returned: always
  type: list
  elements: dict
  sample: [{"window": "code", "window_index": 0, "index": 0, "pid": 1234}]
access:
  description: Accounts other than the server's owner and root that tmux lets attach, and whether read-only.
  returned: when the server runs and its tmux is 3.3 or later
  type: dict
  sample: {"tmux": false, "tmux-ro": true}
"""

import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pairing.tmux.plugins.module_utils.tmux import Tmux, TmuxError, read_server, supports_access

ARGUMENT_SPEC = dict(
    name=dict(type='str', default='pairing'),
    socket_path=dict(type='path', default='/run/pairing/tmux.sock'),
    run_as=dict(type='str'),
    records_dir=dict(type='path', default='/run/pairing/clients'),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    result = dict(changed=False, exists=False, clients=[], panes=[])
    try:
        socket_uid = os.stat(params['socket_path']).st_uid
    except FileNotFoundError:
        # No socket, no server: nothing to ask, and no tmux client that could start one.
        module.exit_json(**result)
    try:
        run_as = params['run_as'] or pwd.getpwuid(socket_uid).pw_name
        pwd.getpwnam(run_as)
    except KeyError:
        module.fail_json(msg='run_as: no account %s on this host' % (params['run_as'] or 'of uid %d' % socket_uid))
    tmux = Tmux(module, params['socket_path'], run_as)
    try:
        state = read_server(tmux, params['name'], run_as, params['records_dir'],
                            with_access=supports_access(tmux.version()))
    except TmuxError as error:
        module.fail_json(msg=str(error))
    result.update(exists=state.exists, clients=state.clients, panes=state.panes)
    if state.access is not None:
        result['access'] = state.access
    module.exit_json(**result)


if __name__ == '__main__':
    main()
