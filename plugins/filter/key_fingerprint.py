# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: key_fingerprint
short_description: A public key's size, SHA256 fingerprint and type, as ssh-keygen -l prints them
version_added: 0.3.0
description:
  - Turns a public key line (C(TYPE BASE64 [COMMENT])) into what C(ssh-keygen -lf) prints for it,
    without the comment, e.g. C(256 SHA256:kGPy... (ED25519)); the fingerprint is the one an ssh
    client shows when it meets the host for the first time.
  - The host role gives it the host key from the facts Ansible gathers anyway
    (C(ssh_host_key_ed25519_public)), which saves a round trip to the host.
author: pairing.tmux contributors (@pairing-tmux)
options:
  _input:
    description: A public key line; the comment, if any, is left out of the result.
    type: str
    required: true
"""

EXAMPLES = r"""
host_key: >-
  {{ (ansible_facts.ssh_host_key_ed25519_public_keytype ~ ' ' ~ ansible_facts.ssh_host_key_ed25519_public)
     | pairing.tmux.key_fingerprint }}
# => "256 SHA256:kGPyqVbyAO1NlZ0f5JCe67GEee2HFhgu+2aOyHC+Y/g (ED25519)"
"""

RETURN = r"""
_value:
  description: The key's size in bits, its SHA256 fingerprint and its type.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.pairing.tmux.plugins.module_utils.authorized_keys import KeyLineError, parse_line


def key_fingerprint(line):
    try:
        key = parse_line(str(line), min_rsa_bits=0)
    except KeyLineError as error:
        raise AnsibleFilterError('key_fingerprint: %s' % error) from None
    return '%d %s (%s)' % (key.bits, key.fingerprint, key.type_label)


class FilterModule:

    def filters(self):
        return {'key_fingerprint': key_fingerprint}
