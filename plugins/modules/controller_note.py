#!/usr/bin/python
# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: controller_note
short_description: A note for the person at the controller, and their clipboard
version_added: 0.3.0
description:
  - Writes O(content) to O(path) on the controller, the machine C(ansible-playbook) runs on,
    readable by everyone (0644, in a directory made 0755 when missing), atomically, and puts O(clipboard) on
    its clipboard with the first of C(wl-copy), C(xclip), C(xsel) and C(pbcopy) found.
  - An action plugin alone, with no module run on any host nor on the controller, so that it
    costs a playbook no round trip; the host role ends C(pair), C(status) and C(team) with it
    (C(~/.pairing/ssh-command)).
  - A symlink or anything but a regular file at O(path) is refused, not followed (the task may
    run as root with another account's C(HOME)). A note that cannot be written is a warning, not
    a failure, as the run's work is done on the hosts. No clipboard, or one that fails, is no failure.
  - A note is no change of any host - the task never reports C(changed) - and it is written in
    check mode too.
author: pairing.tmux contributors (@pairing-tmux)
options:
  path:
    description: The note's path on the controller; missing directories are made.
    type: path
    required: true
  content:
    description: The note's whole text.
    type: str
    required: true
  clipboard:
    description: Text to put on the controller's clipboard; none when omitted.
    type: str
attributes:
  action:
    description: All of it runs in the action plugin, on the controller.
    support: full
  check_mode:
    description: Writes the note in check mode too; it changes no host.
    support: full
  diff_mode:
    description: Nothing to show; the note changes no host.
    support: none
  platform:
    description: Runs on the controller only.
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Keep the command for the person at the controller
  pairing.tmux.controller_note:
    path: "{{ lookup('ansible.builtin.env', 'HOME') }}/.pairing/ssh-command"
    content: "ssh -p 22 tmux@devbox.example.org\n"
    clipboard: ssh -p 22 tmux@devbox.example.org
  run_once: true
"""

RETURN = r"""
path:
  description: The note written, or null when it could not be.
  returned: always
  type: str
  sample: /home/dev/.pairing/ssh-command
clipboard:
  description: The tool that took the clipboard text, or null.
  returned: always
  type: str
  sample: wl-copy
"""
