# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pairing.tmux.controller_note: all of it here, on the controller (see plugins/modules/controller_note.py)."""

import os
import shutil
import subprocess

from ansible.plugins.action import ActionBase

from ansible_collections.pairing.tmux.plugins.module_utils.safe_file import write_atomic

ARGUMENT_SPEC = dict(path=dict(type='path', required=True), content=dict(type='str', required=True),
                     clipboard=dict(type='str'))
CLIPBOARDS = (['wl-copy'], ['xclip', '-selection', 'clipboard'], ['xsel', '--clipboard', '--input'], ['pbcopy'])


def to_clipboard(text):
    """The first clipboard tool found that takes ``text``, or None."""
    for argv in CLIPBOARDS:
        if not shutil.which(argv[0]):
            continue
        try:
            # No pipes to wait on: xclip stays behind to serve the selection.
            taken = subprocess.run(argv, input=text.encode(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   timeout=5, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if taken.returncode == 0:
            return argv[0]
    return None


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        path = args['path']
        directory = os.path.dirname(path)
        try:
            if not os.path.isdir(directory):
                os.makedirs(directory, mode=0o700)  # never wider than 0755, whatever the umask
                os.chmod(directory, 0o755)  # the note is for anyone at the controller
            write_atomic(path, args['content'], 0o644)
        except OSError as error:  # UnsafeDestination too: a symlink is not followed, even as root
            # The run's work is done on the hosts: a note it cannot leave is worth a warning, not a failure.
            result.setdefault('warnings', []).append('the note %s on the controller was not written: %s'
                                                     % (path, error))
            path = None
        clipboard = to_clipboard(args['clipboard']) if args['clipboard'] else None
        return dict(result, changed=False, path=path, clipboard=clipboard)
