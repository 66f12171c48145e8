# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: guest_account
short_description: Whether an account can be a guest of the owner's tmux server
version_added: 0.3.0
description:
  - False for the server's owner and for root, whom tmux always lets attach whatever
    C(server-access) says; true for any other account. The same rule
    M(pairing.tmux.tmux_session) applies to its O(pairing.tmux.tmux_session#module:access) and
    O(pairing.tmux.tmux_session#module:kick) options.
author: pairing.tmux contributors (@pairing-tmux)
positional: owner
options:
  _input:
    description: The account name.
    type: str
    required: true
  owner:
    description: The account that owns the tmux server.
    type: str
    required: true
"""

EXAMPLES = r"""
guests_may_log_in_as_it: "{{ 'tmux' is pairing.tmux.guest_account('dev') }}"  # => true
never: "{{ 'root' is pairing.tmux.guest_account('dev') }}"  # => false
"""

RETURN = r"""
_value:
  description: Whether the account can be a guest.
  type: bool
"""

from ansible_collections.pairing.tmux.plugins.module_utils.tmux import is_guest_account


class TestModule:
    def tests(self):
        return {'guest_account': is_guest_account}
