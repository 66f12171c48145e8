"""pairing.tmux.pairing, the stdout callback of make pair/status/unpair: a real ansible-playbook
on this machine (local connection, no root, no test hosts), of the controller the suite drives
(PAIRING_CONTROLLER_BIN): make test runs it on the oldest and on the newest ansible-core this
collection supports, one per release."""

import os
import re
import subprocess

import pytest
from ansible_run import BIN, ROOT

SECRET = 's3cr3t-token'

# alpha, beta and gamma run here; delta is an ssh host nobody listens for. Modules run on the
# controller's own Python (discovery could pick a pyenv shim of an inactive version).
INVENTORY = """
[all]
alpha
beta
gamma
delta ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=1

[all:vars]
ansible_connection=local
ansible_python_interpreter={{ ansible_playbook_python }}
"""

PLAYBOOK = """
- name: Pair
  hosts: alpha
  gather_facts: false
  tasks:
    - name: Touch nothing, but say so
      ansible.builtin.command: "true"
      changed_when: true

    - name: Stay quiet when nothing changed
      ansible.builtin.command: "true"
      changed_when: false

    - name: Write the note
      ansible.builtin.copy:
        content: "hello\\n"
        dest: "{{ playbook_dir }}/note.txt"
        mode: "0644"

    - name: Warn
      warner:

    - name: Skip this
      ansible.builtin.debug:
        msg: never
      when: false

    - name: How to pair
      ansible.builtin.debug:
        msg: ["Guests connect with:  ssh -t tmux@192.0.2.1", "Who may join:         alice (rw)"]

    - name: Who is connected
      ansible.builtin.debug:
        msg: "Tunnel: none"

- name: Team
  hosts: all
  gather_facts: false
  tasks:
    - name: Greet
      ansible.builtin.debug:
        msg: "Hello from {{ inventory_hostname }}"
      when: inventory_hostname != 'delta'

    - name: Know whom to pair with
      ansible.builtin.assert:
        that: false
        fail_msg: "Say whom to pair with: -e pair=GITHUB_USER\\nand nothing of this line"
      when: inventory_hostname == 'alpha'
      tags: failing

    - name: Keep a secret
      ansible.builtin.shell: "echo %(secret)s; echo %(secret)s >&2; exit 1"
      no_log: true
      when: inventory_hostname == 'beta'
      tags: failing

    - name: Check the items
      ansible.builtin.fail:
        msg: "item {{ item }} is bad"
      loop: [1, 2]
      when: inventory_hostname == 'gamma' and item == 2
      tags: failing

    - name: Reach delta
      ansible.builtin.ping:
      when: inventory_hostname == 'delta'
""" % {'secret': SECRET}

# A module that warns, as a module of the role might.
WARNER = """
from ansible.module_utils.basic import AnsibleModule

module = AnsibleModule(argument_spec={})
module.warn('Disk almost full')
module.exit_json(changed=False)
"""


@pytest.fixture
def controller():
    return BIN


@pytest.fixture
def playbook_dir(tmp_path):
    (tmp_path / 'inventory.ini').write_text(INVENTORY)
    (tmp_path / 'playbook.yml').write_text(PLAYBOOK)
    (tmp_path / 'library').mkdir()
    (tmp_path / 'library' / 'warner.py').write_text(WARNER)
    return tmp_path


def run(controller, playbook_dir, callback, *options):
    # One fork: the hosts of the multi-host play report in inventory order.
    command = [os.path.join(controller, 'ansible-playbook'), '-i', 'inventory.ini', 'playbook.yml', '--forks', '1',
               '--diff', *options]
    environment = dict(os.environ,
                       ANSIBLE_STDOUT_CALLBACK=callback,
                       ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.build', 'collections'),
                       ANSIBLE_NOCOLOR='1',
                       ANSIBLE_RETRY_FILES_ENABLED='0')
    # Run outside the checkout: its ansible.cfg is no part of what is tested.
    return subprocess.run(command, cwd=playbook_dir, capture_output=True, text=True, env=environment, timeout=300,
                          check=False)


def pair_play_lines(playbook_dir):
    """What the one-host play prints: changes (with --diff's diff), then the debug lines as they are."""
    return [
        'Pair on alpha',
        '  changed: Touch nothing, but say so',
        '  changed: Write the note',
        '--- before',
        '+++ after: %s' % (playbook_dir / 'note.txt'),
        '@@ -0,0 +1 @@',
        '+hello',
        '',
        'Guests connect with:  ssh -t tmux@192.0.2.1',
        'Who may join:         alice (rw)',
        'Tunnel: none',
    ]


GREETINGS = ['alpha:', '  Hello from alpha', 'beta:', '  Hello from beta', 'gamma:', '  Hello from gamma']


def test_a_few_plain_lines_by_default(controller, playbook_dir):
    process = run(controller, playbook_dir, 'pairing.tmux.pairing')

    lines = process.stdout.splitlines()
    unreachable = lines.pop(-2)
    assert lines == [
        *pair_play_lines(playbook_dir),
        'Team on alpha, beta, gamma, delta',
        *GREETINGS,
        'alpha: Say whom to pair with: -e pair=GITHUB_USER',
        'beta: Keep a secret failed (its output is hidden: no_log)',
        'gamma: item 2 is bad',
        'changed 2, failed 3, unreachable 1',
    ]
    # ssh's own words, after what Ansible puts first.
    assert re.fullmatch(r'delta: .*ssh: connect to host 127\.0\.0\.1 port 1: Connection refused', unreachable)
    assert '[WARNING]: Disk almost full' in process.stderr
    assert SECRET not in process.stdout + process.stderr
    assert process.returncode != 0


def test_a_run_that_went_well_ends_with_its_last_lines(controller, playbook_dir):
    process = run(controller, playbook_dir, 'pairing.tmux.pairing', '--limit', 'alpha,beta,gamma',
                  '--skip-tags', 'failing')

    assert process.stdout.splitlines() == [*pair_play_lines(playbook_dir), 'Team on alpha, beta, gamma', *GREETINGS]
    assert process.returncode == 0


def test_verbose_is_the_default_callback(controller, playbook_dir):
    ours = run(controller, playbook_dir, 'pairing.tmux.pairing', '-v')
    (playbook_dir / 'note.txt').unlink()  # the same change again
    default = run(controller, playbook_dir, 'ansible.builtin.default', '-v')

    def timeless(output):
        """Without what differs from run to run: times, and the names of temporary files."""
        return re.sub(r'"(start|end|delta)": "[^"]*"|ansible-tmp-[^/"]*', '', output)

    assert 'TASK [Touch nothing, but say so] ***' in ours.stdout
    assert 'PLAY RECAP ***' in ours.stdout
    assert timeless(ours.stdout) == timeless(default.stdout)
    assert SECRET not in ours.stdout + ours.stderr
