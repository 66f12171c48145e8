"""The host role's programs read a guest's marker with the one grammar of managed_keys.py.

A real ansible-playbook renders the attach wrapper and pairing-revoke from the role's templates
(the grammar comes in through the pairing.tmux.guest_marker lookup); the wrapper's guest_of runs
in sh and pairing-revoke's admitted() in Python, both on a keys file managed_keys wrote.
"""

import importlib.util
import re
import subprocess
import time
from pathlib import Path

import pytest
from ansible_run import LOCALHOST, run_playbook

from ansible_collections.pairing.tmux.plugins.module_utils.authorized_keys import parse_line
from ansible_collections.pairing.tmux.plugins.module_utils.managed_keys import Guest, merge, paired

TEMPLATES = Path(__file__).resolve().parents[2] / 'roles' / 'host' / 'templates'
RENDER = """
- name: Render the role's programs
  hosts: all
  gather_facts: false
  tasks:
    - name: Render
      ansible.builtin.template:
        src: "{{ item.src }}"
        dest: "{{ item.dest }}"
        mode: "0600"
      loop: "{{ programs }}"
"""


@pytest.fixture(scope='module')
def rendered(tmp_path_factory):
    directory = tmp_path_factory.mktemp('programs')
    programs = [{'src': str(TEMPLATES / name), 'dest': str(directory / name[:-len('.j2')])}
                for name in ('pairing-attach.sh.j2', 'pairing-revoke.py.j2')]
    settings = {'pairing_keys_file': str(directory / 'authorized_keys'), 'pairing_socket': '/run/pairing/tmux.sock',
                'pairing_session': 'pairing', '__pairing_runtime_dir': '/run/pairing', 'pairing_alias_user': 'tmux',
                'pairing_read_only_user': 'tmux-ro', '__pairing_watch_command': 'watch',
                '__pairing_confine_command': 'confine'}
    run = run_playbook(RENDER, LOCALHOST, dict(settings, programs=programs))
    assert run.returncode == 0, run.output
    return directory


@pytest.fixture
def keys_file(rendered, ed25519_lines):
    """A keys file as the module writes it, with the owner's lines and lines of other shapes;
    the key lines in the order of ``ed25519_lines``."""
    owner = '%s me@laptop\n' % ed25519_lines[0]
    present = {guest.name: guest.managed_keys([parse_line(line) for line in lines],
                                              command='/usr/local/libexec/pairing-attach')
               for guest, lines in [
                   (Guest.from_spec({'name': 'alice', 'expires': '2099-12-31'}), ed25519_lines[1:3]),
                   (Guest.from_spec({'name': 'first.last_1', 'source': 'gitlab', 'read_only': True}),
                    ed25519_lines[3:4]),
                   (Guest.from_spec({'name': 'ci_bot', 'source': 'https://keys.example/ci.pub', 'read_only': True}),
                    ed25519_lines[4:5])]}
    text = merge(owner, present)[0]
    key = [' '.join(line.split()[:2]) for line in ed25519_lines]
    text += ''.join([
        'restrict %s pairing.tmux:github:../etc\n' % key[5],  # no name a guest can have
        'restrict %s pairing.tmux:file:dave:ro\n' % key[6],  # no source
        'restrict,pty %s pairing.tmux:github:Erin:ro\n' % key[7],  # written before names were lowercase
    ])
    path = rendered / 'authorized_keys'
    path.write_text(text)
    return path


# Per key of ed25519_lines: the guest, and whether read-only; None for a line that is no guest's
# (the owner's, two that are not markers, and a key the file does not hold).
WHO = [None, ('alice', False), ('alice', False), ('first.last_1', True), ('ci_bot', True), None, None,
       ('Erin', True), None, None]


def guest_of(rendered, keys_file, line):
    """What the wrapper's guest_of prints for the key of ``line``, run by sh."""
    function = re.search(r'^guest_of\(\) \{$.*?^\}$', (rendered / 'pairing-attach.sh').read_text(), re.M | re.S)
    keytype, blob = line.split()[:2]
    return subprocess.run(['sh', '-c', function.group(0) + '\nguest_of "$@"', 'sh', str(keys_file), keytype, blob],
                          capture_output=True, text=True, check=True).stdout


def test_the_wrapper_names_the_guest_of_the_key_and_whether_read_only(rendered, keys_file, ed25519_lines):
    told = [guest_of(rendered, keys_file, line) for line in ed25519_lines]
    assert told == ['' if who is None else '%s %s\n' % (who[0], ':ro' if who[1] else '') for who in WHO]


def test_the_guests_the_wrapper_tells_are_the_guests_the_module_reads(rendered, keys_file, ed25519_lines):
    told = {guest_of(rendered, keys_file, line).split()[0].lower() for line in ed25519_lines
            if guest_of(rendered, keys_file, line)}
    assert told == {guest['name'] for guest in paired(keys_file.read_text())}


def test_revoke_reads_read_only_from_the_same_marker(rendered, keys_file, ed25519_lines):
    spec = importlib.util.spec_from_file_location('pairing_revoke', rendered / 'pairing-revoke.py')
    revoke = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(revoke)
    admitted = revoke.admitted(time.time())
    fingerprints = [parse_line(line).fingerprint for line in ed25519_lines]
    assert admitted == {fingerprint: bool(who and who[1])
                        for fingerprint, who in zip(fingerprints[:8], WHO[:8])}
