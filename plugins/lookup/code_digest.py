# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: code_digest
short_description: A digest of this collection's roles and plugins
version_added: 0.3.0
description:
  - The SHA-256 of the collection's C(roles/) and C(plugins/) files (their paths and contents,
    in path order; compiled Python left out), as one hex string. Any change of the code - a new
    release, or an edited template in a checkout - changes it.
  - The host role records it on the host with the inputs it applied, so that a run of another
    version never takes the guests-only fast path.
author: pairing.tmux contributors (@pairing-tmux)
options: {}
"""

EXAMPLES = r"""
digest: "{{ lookup('pairing.tmux.code_digest') }}"
"""

RETURN = r"""
_raw:
  description: One hex string.
  type: list
  elements: str
"""

import hashlib
import os

from ansible.plugins.lookup import LookupBase

# plugins/lookup/code_digest.py -> the collection's root.
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def code_digest(root=_ROOT):
    paths = []
    for top in ('roles', 'plugins'):
        for directory, subdirectories, files in os.walk(os.path.join(root, top)):
            subdirectories[:] = [name for name in subdirectories if name != '__pycache__']
            paths.extend(os.path.relpath(os.path.join(directory, name), root) for name in files)
    digest = hashlib.sha256()
    for path in sorted(paths):
        with open(os.path.join(root, path), 'rb') as handle:
            digest.update(path.encode() + b'\0' + hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        return [code_digest()]
