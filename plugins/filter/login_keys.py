# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: login_keys
short_description: The keys of an authorized_keys file that open an interactive login
version_added: 0.2.0
description:
  - Reads the text of an account's C(authorized_keys) and returns the fingerprints of the lines
    sshd would let open an ordinary interactive login, that is a key of an accepted type with no
    C(command=), C(from=), C(expiry-time=), C(no-pty), C(cert-authority) or C(principals=)
    option, and no C(restrict) unless C(pty) gives the terminal back.
  - The lock-out guard of the host role counts them before it turns password logins off for an account;
    a key restricted to one command or one address is no way in for the owner.
  - Lines it cannot read are no way in.
author: pairing.tmux contributors (@pairing-tmux)
options:
  _input:
    description: The file's text (empty when there is no file).
    type: str
    required: true
"""

EXAMPLES = r"""
usable: "{{ lookup('ansible.builtin.file', '~/.ssh/authorized_keys') | pairing.tmux.login_keys }}"
# => ["SHA256:8Yk3..."]
"""

RETURN = r"""
_value:
  description: The SHA256 fingerprints of the usable lines, in file order.
  type: list
  elements: str
"""

from ansible_collections.pairing.tmux.plugins.module_utils.authorized_keys import KeyLineError, parse_line

# Each of these narrows what the key may do, or when, or from where: not a proven way in.
LIMITING = frozenset(('command', 'from', 'expiry-time', 'no-pty', 'cert-authority', 'principals'))


def opens_a_login(key):
    names = {name.lower() for name, _value in key.options}
    if names & LIMITING:
        return False
    return 'restrict' not in names or 'pty' in names


def login_keys(text):
    usable = []
    for line in (text or '').splitlines():
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        try:
            key = parse_line(line)
        except KeyLineError:
            continue
        if opens_a_login(key):
            usable.append(key.fingerprint)
    return usable


class FilterModule:

    def filters(self):
        return {'login_keys': login_keys}
