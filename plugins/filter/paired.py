# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: paired
short_description: The guests an authorized_keys file lets in, with their role and expiry
version_added: 0.1.0
description:
  - Reads the text of a keys file written by M(pairing.tmux.github_authorized_keys) and lists
    each guest once, in file order, from the markers of its lines. Lines without a marker are
    not guests and are left out.
  - Given the RV(pairing.tmux.github_authorized_keys#module:paired) list the module returned
    instead (no second read of the file), it adds the labels.
author: pairing.tmux contributors (@pairing-tmux)
options:
  _input:
    description: The file's text, or the module's RV(pairing.tmux.github_authorized_keys#module:paired) list.
    type: raw
    required: true
"""

EXAMPLES = r"""
guests: "{{ (lookup('ansible.builtin.file', '/etc/ssh/pairing/authorized_keys')) | pairing.tmux.paired }}"
# or from the result of the task that wrote the file, registered as written:
guests_as_written: "{{ written.paired | pairing.tmux.paired }}"
# => [{"name": "alice", "read_only": false, "expires": null, "label": "alice (rw)"},
#     {"name": "carol", "read_only": true, "expires": "202612011805Z",
#      "label": "carol (ro, until 2026-12-01 18:05 UTC)"}]
"""

RETURN = r"""
_value:
  description: One dict per guest, C(name) in its canonical (lower-case) spelling.
  type: list
  elements: dict
  contains:
    name:
      description: The guest's user name.
      type: str
    read_only:
      description: Whether the guest may only watch.
      type: bool
    expires:
      description: sshd's C(expiry-time) of the guest's first key (host local time), or null.
      type: str
    label:
      description: The guest as C(status) shows it, e.g. C(carol (ro, until 2026-12-01 18:05 UTC)).
      type: str
"""

from ansible_collections.pairing.tmux.plugins.module_utils.managed_keys import paired as paired_guests


def label(guest):
    role = 'ro' if guest['read_only'] else 'rw'
    expires = guest['expires']
    if not expires:
        return '%s (%s)' % (guest['name'], role)
    # expiry-time is YYYYMMDD[HHMM[SS]][Z]: Z for UTC, else the host's local time.
    digits = expires.rstrip('Zz')
    day, clock = '%s-%s-%s' % (digits[:4], digits[4:6], digits[6:8]), digits[8:12]
    at = ' %s:%s' % (clock[:2], clock[2:]) if clock else ''
    zone = ' UTC' if digits != expires else ''
    return '%s (%s, until %s%s%s)' % (guest['name'], role, day, at, zone)


def paired(text_or_guests):
    guests = paired_guests(text_or_guests) if isinstance(text_or_guests, str) else text_or_guests
    return [dict(guest, label=label(guest)) for guest in guests]


class FilterModule:
    def filters(self):
        return {'paired': paired}
