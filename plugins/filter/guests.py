# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: guests
short_description: Guest names or dicts as the user specs of github_authorized_keys
version_added: 0.1.0
description:
  - Turns GitHub user names (a list, or one string of names separated by commas or spaces, as
    typed after C(-e pair=)) or dicts with C(name) into dicts for the O(users) option of
    M(pairing.tmux.github_authorized_keys), with a read-only flag and an expiry for every
    entry that does not set its own.
  - Names pass through as typed; the module compares them case-insensitively.
author: pairing.tmux contributors (@pairing-tmux)
positional: read_only, expires
options:
  _input:
    description:
      - User names, or dicts with C(name) and optionally C(read_only), C(expires), C(source).
      - A string is split at commas and spaces; an empty string or null is no user.
    type: raw
    required: true
  read_only:
    description: The C(read_only) of entries that do not set one.
    type: bool
    default: false
  expires:
    description:
      - The C(expires) of entries that do not set one; empty for none.
      - A date (C(2026-12-31)) or a duration from now (C(2h), C(1d), C(1h30m)), which
        M(pairing.tmux.github_authorized_keys) turns into a time on the target at every run.
    type: str
    default: ""
"""

EXAMPLES = r"""
users: "{{ ['alice', {'name': 'bob', 'expires': '2026-12-31'}] | pairing.tmux.guests }}"
# => [{"name": "alice", "read_only": false}, {"name": "bob", "read_only": false, "expires": "2026-12-31"}]
watchers: "{{ ['carol'] | pairing.tmux.guests(true) }}"
# => [{"name": "carol", "read_only": true}]
for_an_hour: "{{ 'dana' | pairing.tmux.guests(false, '1h') }}"
# => [{"name": "dana", "read_only": false, "expires": "1h"}]
typed: "{{ 'alice, bob' | pairing.tmux.guests }}"
# => [{"name": "alice", "read_only": false}, {"name": "bob", "read_only": false}]
"""

RETURN = r"""
_value:
  description: One dict per guest.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError


def guests(entries, read_only=False, expires=''):
    if isinstance(entries, str):
        entries = entries.replace(',', ' ').split()
    specs = []
    for entry in entries or []:
        spec = {'name': entry} if isinstance(entry, str) else dict(entry) if isinstance(entry, dict) else None
        if spec is None:
            raise AnsibleFilterError('guests: each entry must be a user name or a dict with a name, got %r' % (entry,))
        spec.setdefault('read_only', read_only)
        if expires and 'expires' not in spec:
            spec['expires'] = expires
        specs.append(spec)
    return specs


class FilterModule:
    def filters(self):
        return {'guests': guests}
