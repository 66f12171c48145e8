# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: upstream_version
short_description: The upstream major.minor of a Debian package version
version_added: 0.2.0
description:
  - C([epoch:]upstream-revision) to the upstream C(MAJOR.MINOR), e.g. C(1:10.0p1-7) to C(10.0) and
    C(3.3a-3) to C(3.3); C(0) for anything else (C(none), an empty string), which every version
    check refuses.
author: pairing.tmux contributors (@pairing-tmux)
options:
  _input:
    description: The package version, as dpkg-query or apt-cache prints it.
    type: str
    required: true
"""

EXAMPLES = r"""
openssh: "{{ '1:9.2p1-2+deb12u10' | pairing.tmux.upstream_version }}"  # => "9.2"
"""

RETURN = r"""
_value:
  description: C(MAJOR.MINOR), or C(0).
  type: str
"""

import re

_UPSTREAM = re.compile(r'^(?:[0-9]+:)?([0-9]+[.][0-9]+)')


def upstream_version(version):
    match = _UPSTREAM.match(version or '')
    return match.group(1) if match else '0'


class FilterModule:

    def filters(self):
        return {'upstream_version': upstream_version}
