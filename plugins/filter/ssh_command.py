# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: ssh_command
short_description: The ssh command line guests run to reach an address
version_added: 0.3.0
description:
  - C(ssh -t USER@ADDRESS), with C(-p PORT) for any port but 22. The same line
    M(pairing.tmux.ngrok_tunnel_info) returns as RV(pairing.tmux.ngrok_tunnel_info#module:ssh_command).
author: pairing.tmux contributors (@pairing-tmux)
positional: user, port
options:
  _input:
    description: The host name or address guests connect to.
    type: str
    required: true
  user:
    description: The account guests log in as.
    type: str
    required: true
  port:
    description: The port guests connect to.
    type: int
    default: 22
"""

EXAMPLES = r"""
lan: "{{ '192.0.2.1' | pairing.tmux.ssh_command('tmux') }}"  # => "ssh -t tmux@192.0.2.1"
relay: "{{ 'relay.example' | pairing.tmux.ssh_command('tmux', 2222) }}"  # => "ssh -t -p 2222 tmux@relay.example"
"""

RETURN = r"""
_value:
  description: The command line.
  type: str
"""

from ansible_collections.pairing.tmux.plugins.module_utils.ssh_command import ssh_command


class FilterModule:
    def filters(self):
        return {'ssh_command': ssh_command}
