"""Make the checkout importable as ``ansible_collections.pairing.tmux`` for pytest.

Ansible loads collection code by that package name only; a link under .build/ gives the
checkout that name wherever it was cloned (the Makefile makes the same link for playbooks).
"""

import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
COLLECTIONS = os.path.join(ROOT, '.build', 'collections')
LINK = os.path.join(COLLECTIONS, 'ansible_collections', 'pairing', 'tmux')

if not os.path.islink(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
sys.path.insert(0, COLLECTIONS)
