"""Real Debian test hosts on one box: systemd-nspawn, overlayfs, a netns each.

Used by the pytest fixtures (tests/conftest.py), by molecule (extensions/molecule/*/create.yml)
and from the shell: ``python -m testhosts --help`` with ``tests/`` on PYTHONPATH
(``make testhosts ARGS=...`` does that).
"""

from .errors import HarnessError
from .hosts import Harness, Host

__all__ = ['Harness', 'HarnessError', 'Host']
