#!/usr/bin/python
# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: files
short_description: Several whole files, each with its content, owner, group and mode, in one task
version_added: 0.3.0
description:
  - Puts each file of O(files) in place with exactly its content, owner, group and mode, in one
    round trip to the host. One M(ansible.builtin.template) task per file costs two (a stat,
    then a copy or a file module); the host role writes its programs and units with this
    instead, rendered on the controller by the P(ansible.builtin.template#lookup) lookup.
  - A file whose content differs is replaced atomically, and is never readable with a wider mode
    than its own - the new file is 0600 until it takes its mode.
  - Every file is checked before anything is written; a symlink or anything but a regular file
    at a path, a missing directory, owner or group, or a mode that is not octal fails the task
    and writes nothing. An error while writing (a full disk) fails the task with RV(changed_paths)
    of the files already written.
  - For a file that needs a check before it is put in place (C(validate)), such as sudoers or
    sshd's configuration, use M(ansible.builtin.template).
author: pairing.tmux contributors (@pairing-tmux)
options:
  files:
    description: The files, written in this order.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Where the file goes. Its directory must exist.
        type: path
        required: true
      content:
        description: The whole content of the file.
        type: str
        required: true
      mode:
        description: The file's mode, in octal, e.g. V('0644').
        type: str
        required: true
      owner:
        description: The file's owner, a name or a number.
        type: str
        default: root
      group:
        description: The file's group, a name or a number.
        type: str
        default: root
attributes:
  check_mode:
    description: Reports what would change and writes nothing.
    support: full
  diff_mode:
    description: One diff per changed file, its content before and after.
    support: full
  platform:
    description: POSIX targets.
    support: full
    platforms: posix
seealso:
  - module: ansible.builtin.template
"""

EXAMPLES = r"""
- name: A program and its unit
  pairing.tmux.files:
    files:
      - path: /usr/local/sbin/hello
        content: "{{ lookup('ansible.builtin.template', 'hello.sh.j2') }}"
        mode: "0755"
      - path: /etc/systemd/system/hello.service
        content: "{{ lookup('ansible.builtin.template', 'hello.service.j2') }}"
        mode: "0644"
  register: written

- name: Reload systemd when the unit changed
  ansible.builtin.systemd_service:
    daemon_reload: true
  when: "'/etc/systemd/system/hello.service' in written.changed_paths"
"""

RETURN = r"""
changed_paths:
  description:
    - The files whose content, owner, group or mode changed (in check mode, would change), in the order given.
    - Also when the task failed while writing, the files written until then.
  returned: always
  type: list
  elements: str
  sample: [/etc/systemd/system/hello.service]
"""

import grp
import os
import pwd
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pairing.tmux.plugins.module_utils.safe_file import (
    UnsafeDestination,
    refuse_unsafe,
    write_atomic,
)


def refusal(spec, check_mode):
    """Why the file cannot be written, or None."""
    path = spec['path']
    if not re.match('^[0-7]{3,4}$', spec['mode']):
        return '%s: mode %s is not an octal mode such as 0644' % (path, spec['mode'])
    for by_name, by_id, name, what in ((pwd.getpwnam, pwd.getpwuid, spec['owner'], 'owner'),
                                       (grp.getgrnam, grp.getgrgid, spec['group'], 'group')):
        try:
            by_id(int(name)) if name.isdigit() else by_name(name)
        except KeyError:
            return '%s: %s %s does not exist on this host' % (path, what, name)
    if not os.path.isdir(os.path.dirname(path)) and not check_mode:
        return '%s: its directory does not exist (create it first)' % path
    try:
        refuse_unsafe(path)
    except UnsafeDestination as error:
        return '%s: %s' % (path, error.strerror)
    return None


def main():
    file_options = dict(path=dict(type='path', required=True), content=dict(type='str', required=True),
                        mode=dict(type='str', required=True), owner=dict(type='str', default='root'),
                        group=dict(type='str', default='root'))
    module = AnsibleModule(argument_spec=dict(files=dict(type='list', elements='dict', required=True,
                                                         options=file_options)),
                           supports_check_mode=True)
    files = module.params['files']
    refusals = [reason for reason in (refusal(spec, module.check_mode) for spec in files) if reason]
    if refusals:
        module.fail_json(msg='; '.join(refusals) + ': nothing was written')

    changed_paths, diffs = [], []
    try:
        for spec in files:
            put_in_place(module, spec, changed_paths, diffs)
    except OSError as error:
        # What is written stays written: say so, the caller's next steps (a daemon-reload) depend on it.
        module.fail_json(msg='%s: %s' % (error.filename, error.strerror), changed=bool(changed_paths),
                         changed_paths=changed_paths)
    result = dict(changed=bool(changed_paths), changed_paths=changed_paths)
    if module._diff:
        result['diff'] = diffs
    module.exit_json(**result)


def put_in_place(module, spec, changed_paths, diffs):
    """Write one file if its content differs, then its owner, group and mode; record what changed."""
    path, after = spec['path'], spec['content'].encode('utf-8', 'surrogateescape')
    exists = os.path.exists(path)
    before = b''
    if exists:
        with open(path, 'rb') as stream:
            before = stream.read()
    content_changed = before != after or not exists
    if content_changed and not module.check_mode:
        write_atomic(path, after, int(spec['mode'], 8))
    attributes = dict(before={}, after={})
    if exists or not module.check_mode:
        file_args = module.load_file_common_arguments(dict(owner=spec['owner'], group=spec['group'],
                                                           mode=spec['mode']), path=path)
        module.set_fs_attributes_if_different(file_args, False, diff=attributes)
    if content_changed:
        diffs.append(dict(before_header=path, after_header=path, before=before.decode('utf-8', 'replace'),
                          after=after.decode('utf-8', 'replace')))
    if attributes['before']:
        diffs.append(dict(before_header=path, after_header=path, **attributes))
    if content_changed or attributes['before']:
        changed_paths.append(path)


if __name__ == '__main__':
    main()
