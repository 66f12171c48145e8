#!/usr/bin/python
# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: files
short_description: Several files and directories, each with its owner, group and mode, in one task
version_added: 0.3.0
description:
  - Puts each entry of O(files) in place, in the order given, in one round trip to the host - a
    whole file with exactly its content, lines that a shared file must hold, or a directory - each
    with its owner, group and mode. One M(ansible.builtin.template) task per file costs two round
    trips (a stat, then a copy or a file module), a M(ansible.builtin.lineinfile) loop one per
    line; the host role puts its directories, programs, units and deny-list lines in place with
    this, rendered on the controller by the P(ansible.builtin.template#lookup) lookup.
  - A file whose content differs is replaced atomically, and is never readable with a wider mode
    than its own - the new file is 0600 until it takes its mode.
  - Every entry is checked before anything is written; a symlink or anything but a regular file
    (for a directory, anything but a directory) at a path, a missing directory, owner or group, or
    a mode that is not octal fails the task and writes nothing. An error while writing (a full
    disk) fails the task with RV(changed_paths) of the paths already changed.
  - A file whose new content must pass a check first, such as a sudoers rule, names the command in
    O(files[].validate); it runs on a private copy before anything is written.
author: pairing.tmux contributors (@pairing-tmux)
options:
  files:
    description: The files and directories, put in place in this order.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description:
          - Where the file or directory goes.
          - A file's directory must exist, or come earlier in O(files).
        type: path
        required: true
      state:
        description:
          - V(file) - a file with O(files[].content), or holding O(files[].lines).
          - V(directory) - a directory; missing parent directories are made too, with the same
            owner, group and mode (as M(ansible.builtin.file) does).
        type: str
        choices: [file, directory]
        default: file
      content:
        description: The whole content of the file. With O(files[].state=file), this or O(files[].lines).
        type: str
      lines:
        description:
          - Lines the file must hold, each a whole line. Those missing are appended in this order;
            every other line of the file stays as it is. A file that does not exist is created.
          - With O(files[].state=file), this or O(files[].content).
        type: list
        elements: str
      validate:
        description:
          - A command that must accept the new content before anything is written, with V(%s) for the
            path of a private copy of it, e.g. V(visudo -cf %s). It runs only when the content
            changes (also in check mode, which writes nothing); a refusal fails the task with what
            the command said. Run without a shell.
        type: str
      mode:
        description: The mode, in octal, e.g. V('0644').
        type: str
        required: true
      owner:
        description: The owner, a name or a number.
        type: str
        default: root
      group:
        description: The group, a name or a number.
        type: str
        default: root
attributes:
  check_mode:
    description: Reports what would change and writes nothing.
    support: full
  diff_mode:
    description: One diff per changed path - a file's content before and after, a new directory, or a mode or owner.
    support: full
  platform:
    description: POSIX targets.
    support: full
    platforms: posix
seealso:
  - module: ansible.builtin.template
  - module: ansible.builtin.lineinfile
"""

EXAMPLES = r"""
- name: A directory, a program in it, its unit, and a deny-list line
  pairing.tmux.files:
    files:
      - path: /usr/local/libexec
        state: directory
        mode: "0755"
      - path: /usr/local/libexec/hello
        content: "{{ lookup('ansible.builtin.template', 'hello.sh.j2') }}"
        mode: "0755"
      - path: /etc/systemd/system/hello.service
        content: "{{ lookup('ansible.builtin.template', 'hello.service.j2') }}"
        mode: "0644"
      - path: /etc/cron.deny
        lines: [hello]
        mode: "0600"
      - path: /etc/sudoers.d/hello
        content: "hello ALL=(root) NOPASSWD: /usr/local/libexec/hello\n"
        mode: "0440"
        validate: visudo -cf %s
  register: written

- name: Reload systemd when the unit changed
  ansible.builtin.systemd_service:
    daemon_reload: true
  when: "'/etc/systemd/system/hello.service' in written.changed_paths"
"""

RETURN = r"""
changed_paths:
  description:
    - The paths whose content, owner, group or mode changed, or that were made (in check mode,
      would change), in the order given.
    - Also when the task failed while writing, the paths changed until then.
  returned: always
  type: list
  elements: str
  sample: [/etc/systemd/system/hello.service]
"""

import grp
import os
import pwd
import re
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pairing.tmux.plugins.module_utils.safe_file import (
    UnsafeDestination,
    refuse_unsafe,
    write_atomic,
)


def refusal(spec, check_mode, directories):
    """Why the entry cannot be put in place, or None. ``directories``: those made by earlier entries."""
    path = spec['path']
    if not re.match('^[0-7]{3,4}$', spec['mode']):
        return '%s: mode %s is not an octal mode such as 0644' % (path, spec['mode'])
    for by_name, by_id, name, what in ((pwd.getpwnam, pwd.getpwuid, spec['owner'], 'owner'),
                                       (grp.getgrnam, grp.getgrgid, spec['group'], 'group')):
        try:
            by_id(int(name)) if name.isdigit() else by_name(name)
        except KeyError:
            return '%s: %s %s does not exist on this host' % (path, what, name)
    if spec['state'] == 'directory':
        if (spec['content'], spec['lines']) != (None, None):
            return '%s: a directory takes no content or lines' % path
        if os.path.lexists(path) and not stat.S_ISDIR(os.lstat(path).st_mode):
            return '%s: refusing to replace %s with a directory' % (
                path, 'a symlink' if os.path.islink(path) else 'a file')
        directories.add(path)
        return None
    if (spec['content'] is None) == (spec['lines'] is None):
        return '%s: give content or lines, one of them' % path
    directory = os.path.dirname(path)
    if not (os.path.isdir(directory) or directory in directories or check_mode):
        return '%s: its directory does not exist (create it first)' % path
    try:
        refuse_unsafe(path)
    except UnsafeDestination as error:
        return '%s: %s' % (path, error.strerror)
    if spec['validate'] is not None and '%s' not in spec['validate']:
        return '%s: validate %s has no %%s for the file to check' % (path, spec['validate'])
    return None


def contents(spec):
    """The file's content now (None if no file is there) and as it will be."""
    try:
        with open(spec['path'], 'rb') as stream:
            before = stream.read()
    except FileNotFoundError:
        before = None
    if spec['lines'] is None:
        return before, spec['content'].encode('utf-8', 'surrogateescape')
    return before, with_lines(before or b'', spec['lines'])


def rejection(module, spec):
    """What ``validate`` said of the entry's new content, or None (accepted, unchanged, or no check)."""
    before, after = contents(spec)
    if spec['validate'] is None or before == after:
        return None
    copy = os.path.join(module.tmpdir, 'validate')
    write_atomic(copy, after)
    rc, out, err = module.run_command(spec['validate'] % copy)
    if rc == 0:
        return None
    said = ' '.join((err + out).replace(copy, spec['path']).split())
    return '%s: %s refused it (%s)' % (spec['path'], spec['validate'], said or 'exit %d' % rc)


def main():
    entry_options = dict(path=dict(type='path', required=True),
                         state=dict(type='str', choices=['file', 'directory'], default='file'),
                         content=dict(type='str'), lines=dict(type='list', elements='str'),
                         validate=dict(type='str'), mode=dict(type='str', required=True),
                         owner=dict(type='str', default='root'), group=dict(type='str', default='root'))
    module = AnsibleModule(argument_spec=dict(files=dict(type='list', elements='dict', required=True,
                                                         options=entry_options)),
                           supports_check_mode=True)
    entries, directories = module.params['files'], set()
    refusals = [reason for reason in (refusal(spec, module.check_mode, directories) for spec in entries) if reason]
    if not refusals:
        refusals = [reason for reason in (rejection(module, spec) for spec in entries if spec['state'] == 'file')
                    if reason]
    if refusals:
        module.fail_json(msg='; '.join(refusals) + ': nothing was written')

    changed_paths, diffs = [], []
    try:
        for spec in entries:
            put = make_directory if spec['state'] == 'directory' else put_in_place
            put(module, spec, changed_paths, diffs)
    except OSError as error:
        # What is written stays written: say so, the caller's next steps (a daemon-reload) depend on it.
        module.fail_json(msg='%s: %s' % (error.filename, error.strerror), changed=bool(changed_paths),
                         changed_paths=changed_paths)
    result = dict(changed=bool(changed_paths), changed_paths=changed_paths)
    if module._diff:
        result['diff'] = diffs
    module.exit_json(**result)


def with_lines(before, lines):
    """``before`` (bytes) with each of ``lines`` it lacks appended, in order."""
    present = set(before.splitlines())
    missing = []
    for line in (line.encode('utf-8', 'surrogateescape') for line in lines):
        if line not in present:
            present.add(line)
            missing.append(line + b'\n')
    if missing and before and not before.endswith(b'\n'):
        before += b'\n'
    return before + b''.join(missing)


def put_in_place(module, spec, changed_paths, diffs):
    """Write one file if its content differs, then its owner, group and mode; record what changed."""
    path = spec['path']
    before, after = contents(spec)
    exists = before is not None
    before = before or b''
    content_changed = before != after or not exists
    if content_changed and not module.check_mode:
        write_atomic(path, after, int(spec['mode'], 8))
    if content_changed:
        diffs.append(dict(before_header=path, after_header=path, before=before.decode('utf-8', 'replace'),
                          after=after.decode('utf-8', 'replace')))
    record(module, spec, path, exists, content_changed, changed_paths, diffs)


def make_directory(module, spec, changed_paths, diffs):
    """Make the directory and its missing parents, then their owner, group and mode; record what changed."""
    made, path = [], spec['path']
    while not os.path.isdir(path):
        made.insert(0, path)
        path = os.path.dirname(path)
    for path in made:
        if not module.check_mode:
            os.mkdir(path, 0o700)  # until it takes its mode
        diffs.append(dict(before_header=path, after_header=path, before={'state': 'absent'},
                          after={'state': 'directory'}))
        record(module, spec, path, False, True, changed_paths, diffs=None)  # its mode is no news
    if not made:
        record(module, spec, spec['path'], True, False, changed_paths, diffs)


def record(module, spec, path, exists, changed, changed_paths, diffs):
    """Set the owner, group and mode of ``path`` (not of a path check mode did not make); record a
    change: ``changed`` (its content written, or the directory made) or of those."""
    attributes = dict(before={}, after={})
    if exists or not module.check_mode:
        file_args = module.load_file_common_arguments(dict(owner=spec['owner'], group=spec['group'],
                                                           mode=spec['mode']), path=path)
        module.set_fs_attributes_if_different(file_args, False, diff=attributes)
    if attributes['before'] and diffs is not None:
        diffs.append(dict(before_header=path, after_header=path, **attributes))
    if changed or attributes['before']:
        changed_paths.append(path)


if __name__ == '__main__':
    main()
