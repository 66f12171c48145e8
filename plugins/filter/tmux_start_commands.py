# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: tmux_start_commands
short_description: The command lines of a systemd service that makes the session tmux_session makes
version_added: 0.3.0
description:
  - Takes the parameters of a M(pairing.tmux.tmux_session) task and returns the command lines
    that make the same session on a server that does not run yet, in the syntax of a systemd
    unit's C(ExecStart=) and C(ExecStartPost=) lines, in order. The first starts the server
    (C(tmux new-session -d), for C(Type=forking)); the others add the windows and their panes,
    give the socket its group and mode (as root, with systemd's C(+) prefix) and grant access.
  - The steps are the module's own plan for a missing server, so a service that runs them
    brings the session back after a reboot exactly as the module made it.
  - Programs are named without a path (C(tmux), C(chgrp), C(chmod)), which systemd 239 and later
    look up in their fixed search path. The socket's directory must exist when the service
    starts (the host role's C(tmpfiles.d) entry makes it).
  - Every argument is quoted for systemd (C(%) and C($) doubled, a lone C(;) escaped), so a
    pane's command reaches tmux as the module would pass it.
  - A service cannot read the window id tmux prints, so the further panes of a window name it as
    their target; a window with further panes whose name has a dot, or that two windows share,
    is refused.
author: pairing.tmux contributors (@pairing-tmux)
seealso:
  - module: pairing.tmux.tmux_session
options:
  _input:
    description:
      - The session, as the options of M(pairing.tmux.tmux_session).
      - O(pairing.tmux.tmux_session#module:state) must be V(present).
    type: dict
    required: true
  owner:
    description: The account that owns the server (the service's C(User=)); it and root always have access.
    type: str
    required: true
"""

EXAMPLES = r"""
# In a unit template, with Type=forking and User={{ owner }}:
#   {% set commands = session | pairing.tmux.tmux_start_commands(owner) %}
#   ExecStart={{ commands[0] }}
#   {% for command in commands[1:] %}
#   ExecStartPost={{ command }}
#   {% endfor %}
commands: >-
  {{ {'name': 'pairing', 'socket_path': '/run/pairing/tmux.sock', 'socket_group': 'pairing',
      'windows': [{'name': 'code'}, {'name': 'logs', 'panes': [{'command': 'journalctl -f'}, {'split': 'horizontal'}]}],
      'access': [{'user': 'tmux'}, {'user': 'tmux-ro', 'read_only': true}]}
     | pairing.tmux.tmux_start_commands('dev') }}
# => ['tmux -S /run/pairing/tmux.sock new-session -d -P -F "#{window_id}" -s pairing -x 200 -y 50 -n code',
#     'tmux -S /run/pairing/tmux.sock new-window -d -P -F "#{window_id}" -t =pairing: -n logs "journalctl -f"',
#     'tmux -S /run/pairing/tmux.sock split-window -d -t =pairing:=logs -h',
#     '+chgrp pairing /run/pairing/tmux.sock', '+chmod 0660 /run/pairing/tmux.sock',
#     'tmux -S /run/pairing/tmux.sock server-access -a tmux', ...]
"""

RETURN = r"""
_value:
  description: The command lines, in the order the service must run them, each ready to follow C(ExecStart=) or
    C(ExecStartPost=).
  type: list
  elements: str
"""

import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.pairing.tmux.plugins.module_utils.tmux_session import ARGUMENT_SPEC, start_commands

# Words a unit may hold as they are; any other is written in double quotes.
_BARE = re.compile(r'[A-Za-z0-9_@+=:,./-]+')


def systemd_word(word):
    """``word`` as one argument of a unit's command line (systemd.service(5), "Command lines")."""
    if word == ';':
        return '\\;'  # a lone semicolon separates commands
    if _BARE.fullmatch(word):
        return word
    # Specifiers (%) and variables ($) are expanded inside quotes too; C escapes are decoded.
    escaped = ''.join('\\x%02x' % ord(char) if ord(char) < 0x20 or char == '\x7f'
                      else '\\' + char if char in '\\"'
                      else char for char in word)
    return '"%s"' % escaped.replace('%', '%%').replace('$', '$$')


def plain(value):
    """``value`` as plain dicts and lists. The validator deep-copies what it is given, and a deep copy
    of one of Ansible's lazy containers copies every variable of the play with it (about a fifth
    of a second a call)."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def tmux_start_commands(session, owner):
    validated = ArgumentSpecValidator(ARGUMENT_SPEC).validate(plain(session))
    if validated.error_messages:
        raise AnsibleFilterError('tmux_start_commands: %s' % '; '.join(validated.error_messages))
    params = validated.validated_parameters
    if params['state'] != 'present':
        raise AnsibleFilterError('tmux_start_commands: a service makes a session; state must be present')
    try:
        commands = start_commands(params, owner)
    except ValueError as error:
        raise AnsibleFilterError('tmux_start_commands: %s' % error) from error
    return [('+' if command.as_root else '') + ' '.join(systemd_word(word) for word in command.argv)
            for command in commands]


class FilterModule:

    def filters(self):
        return {'tmux_start_commands': tmux_start_commands}
