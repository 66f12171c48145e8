# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: first_look
short_description: What the host role's first look at a host found, as one dict
version_added: 0.3.0
description:
  - Reads the lines of the host role's first look (C(pairing-host-probe), run by raw), one
    C(NAME=VALUE) per line; any other line is skipped (raw also keeps what a login shell prints).
  - C(present), C(missing), C(started) and C(groups) become lists of words; the C(account)
    lines the list C(accounts); the C(file) lines (C(PATH MODE OWNER:GROUP SHA256)) the dict
    C(files), by path. Every other name keeps its text.
  - A look that printed no C(missing), C(started), C(present) or C(groups) line did not end,
    and is an error, never an empty list.
author: pairing.tmux contributors (@pairing-tmux)
options:
  _input:
    description: The look's output, line by line (raw's C(stdout_lines)).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
__pairing_host: "{{ __pairing_probe.stdout_lines | pairing.tmux.first_look }}"
"""

RETURN = r"""
_value:
  description: The look's names, each with its text, words, lines or files.
  type: dict
"""

import re

from ansible.errors import AnsibleFilterError

_LINE = re.compile(r'([a-z_]+)=(.*)')
_WORDS = ('present', 'missing', 'started', 'groups')


def first_look(lines):
    look = {'accounts': [], 'files': {}}
    for line in lines:
        match = _LINE.fullmatch(line)
        if not match:
            continue
        name, value = match.groups()
        if name == 'account':
            look['accounts'].append(value)
        elif name == 'file':
            path, state = value.split(' ', 1)
            look['files'][path] = state
        else:
            look[name] = value
    unsaid = [name for name in _WORDS if name not in look]
    if unsaid:
        raise AnsibleFilterError('the first look at the host said nothing of %s: it stopped early' % ', '.join(unsaid))
    look.update((name, look[name].split()) for name in _WORDS)
    return look


class FilterModule:

    def filters(self):
        return {'first_look': first_look}
