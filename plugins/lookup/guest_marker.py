# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: guest_marker
short_description: The grammar of the marker that names a guest's line in a keys file
version_added: 0.3.0
description:
  - The regular expression a comment such as C(pairing.tmux:github:alice:ro) matches, as
    M(pairing.tmux.github_authorized_keys) writes and reads it, for programs on the host that
    read the keys file (the host role's attach wrapper and C(pairing-revoke)).
  - Written in the syntax Python's C(re) and POSIX extended regular expressions (C(sed -E),
    C(grep -E), awk) share, anchored at both ends. Group 2 is the guest's name, group 3 is
    C(:ro) for a read-only guest and empty otherwise.
author: pairing.tmux contributors (@pairing-tmux)
options: {}
"""

EXAMPLES = r"""
marker: "{{ lookup('pairing.tmux.guest_marker') }}"
# => "^pairing\\.tmux:(github|gitlab|url):([A-Za-z0-9][A-Za-z0-9._-]*)(:ro)?$"
"""

RETURN = r"""
_raw:
  description: One regular expression.
  type: list
  elements: str
"""

from ansible.plugins.lookup import LookupBase

from ansible_collections.pairing.tmux.plugins.module_utils.managed_keys import MARKER


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        return [MARKER]
