#!/usr/bin/python
# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: github_authorized_keys
short_description: Let GitHub users' SSH keys into an authorized_keys file, and revoke them by name
version_added: 0.1.0
description:
  - Fetches the public keys that GitHub (or GitHub Enterprise, GitLab, or any URL) publishes
    for each listed user, validates every line, and writes them into one C(authorized_keys)
    file with the options every guest key must carry (C(restrict,pty) and a forced command).
  - Fetching happens on the controller, once per user per playbook run however many hosts
    and tasks use it; the target never needs network access.
  - Keys come over C(https://) only; plain C(http://) sources and redirects to them are
    refused unless O(allow_http) is set.
  - Each line it writes ends with a marker comment naming its user in lowercase,
    C(pairing.tmux:github:USER) (C(:ro) appended for read-only users), so a user's keys are
    replaced or revoked by name, also keys the user has since deleted upstream. Lines it did
    not write (the owner's own keys, comments) are never touched, byte for byte.
  - Fails closed. A 404, a server error, a timeout, an HTML page, an empty key list, an
    answer over 1 MiB, a rate-limit answer or an invalid key line fails the task with one
    line naming the user and the reason, and the file is left exactly as it was.
author: pairing.tmux contributors (@pairing-tmux)
options:
  guests:
    description:
      - The users whose keys may log in. Each is a user name, or a dict with C(name) and
        optionally C(read_only) (bool, marks the lines C(:ro) for the attach wrapper),
        C(expires) (when the keys stop working, rendered as the key option C(expiry-time))
        and C(source) (C(github), the default, C(gitlab), or an http(s) URL that serves the
        keys one per line).
      - C(expires) is a date, C(YYYY-MM-DD) or C(YYYY-MM-DD HH:MM) in the target's local time,
        or a duration from now for time-boxed access, C(30m), C(2h), C(1d), C(1h30m) or C(2w)
        (units C(w), C(d), C(h), C(m), largest first; at least one minute). A duration becomes
        a time on the target, in its local time zone, rounded up to the next whole minute.
      - A duration counts from each run, so every run extends the grant; a run within the
        same minute writes the same line (no change).
      - User names are case-insensitive, as on GitHub and GitLab; names from a URL source are
        treated alike. A name is written in its marker and reported in lowercase, and
        C(Alice) and C(alice) are one user; listing both is fine when they agree, and fails
        the task when their C(read_only), C(expires) or C(source) differ. Lines an older
        release marked C(pairing.tmux:github:Alice) are that user's too, and are rewritten
        in lowercase.
      - A name that is not a valid user name (C(/), spaces, C(..), a newline) is refused
        before any request.
    type: list
    elements: raw
    default: []
    aliases: [users]
  state:
    description:
      - V(present) writes the users' current keys (replacing their older managed lines).
      - V(absent) removes the users' managed lines, whatever the case of their names; nothing is fetched.
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - Also remove the managed lines of users not listed in O(guests). With O(guests=[]) this
        revokes every guest. Lines this module did not write are never removed.
    type: bool
    default: false
  path:
    description:
      - The C(authorized_keys) file to edit. Either this or O(user).
      - The module refuses to work when the file or its directory is a symbolic link.
    type: path
  user:
    description:
      - The account whose C(~/.ssh/authorized_keys) to edit, when O(path) is not given; also
        the default owner of a new file.
    type: str
  owner:
    description: Owner of the file. An existing file keeps its owner when not given.
    type: str
  group:
    description: Group of the file. An existing file keeps its group when not given.
    type: str
  mode:
    description:
      - Mode of the file, e.g. C('0644'). An existing file keeps its mode when not given; a
        new one gets C(0600).
    type: raw
  manage_dir:
    description:
      - Create the file's directory when it is missing (mode C(0700), owned by the file's owner).
    type: bool
    default: false
  key_options:
    description: Options every managed key carries, in C(authorized_keys) syntax.
    type: str
    default: restrict,pty
  command:
    description:
      - The forced command every managed key carries (C(command=) key option). C({user}) is
        replaced by the user's name. An empty string writes no command.
    type: str
    default: tmux attach -t pairing
  key_types:
    description:
      - Key types accepted from the sources. RSA keys must also have at least 2048 bits.
      - A fetched key of another type fails the task for its user.
    type: list
    elements: str
    default: [ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521,
              sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com, ssh-rsa]
  keys:
    description:
      - Keys given directly, as a dict of user name to a list of public key lines. Users
        found here (names compared case-insensitively) are not fetched, so the module also
        works with no network at all.
      - Every line is validated like a fetched one.
    type: dict
  github_url:
    description:
      - Where GitHub serves C({github_url}/{user}.keys). For GitHub Enterprise give its URL;
        its REST API is then C({github_url}/api/v3).
    type: str
    default: https://github.com
  gitlab_url:
    description: Where GitLab serves C({gitlab_url}/{user}.keys), for users with C(source=gitlab).
    type: str
    default: https://gitlab.com
  api_token:
    description:
      - A GitHub token. With it keys come from the REST API C(/users/{user}/keys), which
        allows 5000 requests an hour instead of 60. It never leaves the controller.
    type: str
  timeout:
    description: Seconds to wait for each key source.
    type: int
    default: 10
  validate_certs:
    description: Check the key sources' TLS certificates.
    type: bool
    default: true
  allow_http:
    description:
      - Also fetch keys over plain C(http://) - from O(github_url), O(gitlab_url), a user's
        C(source) URL, or a redirect from https. Without it such a source fails the task for
        its user and nothing is asked over http, since anyone on the path could add a key of
        their own.
      - Only for a network you trust, such as a key server on the controller in tests.
    type: bool
    default: false
  revoke_command:
    description:
      - A command, as program and arguments, that ends the connections the file no longer lets
        in (the P(pairing.tmux.host#role) role gives its C(pairing-revoke)). It runs once the
        file is in place, in the same round trip, on every run whether or not the file
        changed, so a connection an earlier run left open (it failed half-way) ends too.
      - It runs also when there is no file and none is written (O(state=absent) on a host
        without one), since no file lets nobody in.
      - Each line it prints comes back in RV(revoked); a line starting with C(ended ) makes
        the task changed. Its failure fails the task, with the file already written. Its
        arguments are passed as they are (no C(~) or C($VAR) expansion).
      - In check mode it runs with C(--dry-run) appended and must change nothing; it reads the
        file as it is, since nothing is written. A line starting with C(would have ended )
        makes the task changed.
    type: list
    elements: str
attributes:
  check_mode:
    description: Reports what would change and changes nothing.
    support: full
  diff_mode:
    description: Shows the file before and after.
    support: full
  platform:
    description: Targets with OpenSSH.
    support: full
    platforms: posix
notes:
  - The same key listed for two users fails the task, since the attach wrapper tells guests
    apart by their key.
  - Two lines of the same user with the same key become one.
seealso:
  - name: sshd(8) AUTHORIZED_KEYS FILE FORMAT
    description: The options written on every managed line.
    link: https://man.openbsd.org/sshd#AUTHORIZED_KEYS_FILE_FORMAT
"""

EXAMPLES = r"""
- name: Let one pair in, through the alias account's root-owned keys file
  pairing.tmux.github_authorized_keys:
    guests: [iamvery]
    path: /etc/ssh/pairing/authorized_keys
    owner: root
    mode: "0644"

- name: Several pairs, one of them read-only, one until the end of the year
  pairing.tmux.github_authorized_keys:
    guests:
      - alice
      - name: bob
        expires: "2026-12-31"
      - name: carol
        read_only: true
    user: tmux
    exclusive: true

- name: Let one pair in for the next two hours (a later run makes it two hours from then)
  pairing.tmux.github_authorized_keys:
    guests:
      - name: frank
        expires: 2h
    user: tmux

- name: Revoke one pair
  pairing.tmux.github_authorized_keys:
    guests: [bob]
    state: absent
    user: tmux

- name: Revoke every pair (the owner's own lines stay)
  pairing.tmux.github_authorized_keys:
    guests: []
    exclusive: true
    user: tmux

- name: Keys from GitHub Enterprise, through its REST API
  pairing.tmux.github_authorized_keys:
    guests: [dana]
    user: tmux
    github_url: https://ghe.example.com
    api_token: "{{ lookup('ansible.builtin.env', 'GHE_TOKEN') }}"

- name: Keys given inline (no network needed)
  pairing.tmux.github_authorized_keys:
    guests: [erin]
    user: tmux
    keys:
      erin:
        - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGz4yBfcQ0F9J/XuoPwKCBXTn4kxOrRj0FqViR1E5AFM
"""

RETURN = r"""
path:
  description: The file edited.
  returned: always
  type: str
  sample: /home/tmux/.ssh/authorized_keys
users:
  description:
    - Per user whose lines were in play, by lowercase name, the SHA256 fingerprints of the
      keys added and removed, of the keys C(changed), and how many keys the user now has in
      the file.
    - A key is C(changed) when it stays in the file with other options (its C(expiry-time),
      the forced command, O(key_options)) or another read-only marker. Live sessions of
      those keys were opened under the old terms, so they may need to end.
  returned: always
  type: dict
  sample:
    iamvery:
      added: ["SHA256:4FzVZVDNoqD3Mvc4uSzNLsKVDJAjB0Y4tRuNJ2mFkyE"]
      removed: []
      changed: ["SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"]
      keys: 2
paired:
  description:
    - Every guest the file lets in once the task is done (in check mode, would let in), in file
      order, also those of other runs; as the P(pairing.tmux.paired#filter) filter lists them,
      without their labels.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: iamvery, read_only: false, expires: null}
    - {name: carol, read_only: true, expires: "202612011805Z"}
added:
  description: How many keys were added, all users together.
  returned: always
  type: int
  sample: 1
removed:
  description: How many keys were removed, all users together.
  returned: always
  type: int
  sample: 0
revoked:
  description:
    - What O(revoke_command) printed, one line per connection or process it ended (would have
      ended, in check mode).
  returned: when O(revoke_command) is given
  type: list
  elements: str
  sample: ["ended connection (session 4, SHA256:4FzVZVDNoqD3Mvc4uSzNLsKVDJAjB0Y4tRuNJ2mFkyE): key revoked"]
"""

import os
import pwd
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pairing.tmux.plugins.module_utils.authorized_keys import KeyLineError, parse_line
from ansible_collections.pairing.tmux.plugins.module_utils.managed_keys import (
    REQUIRED_ONE_OF,
    GuestError,
    argument_spec,
    guests_from_specs,
    keys_by_guest,
    merge,
    paired,
)


def keys_path(module):
    """The file to edit and the owner a new file gets."""
    params = module.params
    owner = params['owner']
    if params['path']:
        return params['path'], owner
    try:
        account = pwd.getpwnam(params['user'])
    except KeyError:
        module.fail_json(msg='user %s: no such account on this host' % params['user'])
    return os.path.join(account.pw_dir, '.ssh', 'authorized_keys'), owner or params['user']


def wanted_keys(module, guests):
    """Guest name -> managed keys, each line of ``keys`` validated again on the target."""
    params, inline = module.params, keys_by_guest(module.params['keys'])
    present = {}
    for guest in guests:
        lines = inline.get(guest.name)
        if not lines:
            module.fail_json(msg='user %s: no keys to write (give keys: for it, or let the action plugin fetch them)'
                             % guest.name)
        try:
            keys = [parse_line(line, key_types=params['key_types']) for line in lines]
        except KeyLineError as error:
            module.fail_json(msg='user %s: %s - nothing was changed' % (guest.name, error))
        present[guest.name] = guest.managed_keys(keys, params['key_options'], params['command'])
    return present


def refuse_symlinks(module, path):
    for candidate in (path, os.path.dirname(path)):
        if os.path.islink(candidate):
            module.fail_json(msg='%s is a symbolic link: refusing to follow it (replace it with a real %s)'
                             % (candidate, 'file' if candidate == path else 'directory'))


def write_atomically(module, path, data):
    directory = os.path.dirname(path)
    handle, temp = tempfile.mkstemp(dir=directory, prefix='.authorized_keys.')
    try:
        with os.fdopen(handle, 'wb') as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        module.atomic_move(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


# How revoke_command's lines say it ended something (check mode: would have).
ENDED = ('ended ', 'would have ended ')


def end_revoked_connections(module, result):
    """revoke_command's lines, and whether it ended something; run once the file is as this task
    leaves it, so it reads it as sshd now does (no file at all lets nobody in)."""
    rc, out, err = module.run_command(module.params['revoke_command'] + ['--dry-run'] * module.check_mode,
                                      expand_user_and_vars=False)
    if rc != 0:
        module.fail_json(msg='%s: %s, but ending the connections it no longer lets in failed (exit %d): %s' % (
            result['path'], 'nothing was written (check mode)' if module.check_mode else 'the keys file is in place',
            rc, (err or out).strip()[-500:]), **result)
    result['revoked'] = out.splitlines()
    result['changed'] = result['changed'] or any(line.startswith(ENDED) for line in result['revoked'])


def exit_after_revocation(module, result):
    if module.params['revoke_command']:
        end_revoked_connections(module, result)
    module.exit_json(**result)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), required_one_of=REQUIRED_ONE_OF, supports_check_mode=True)
    params = module.params
    path, owner = keys_path(module)
    try:
        # Here, on the target: a relative expires counts from this host's clock, in its time zone.
        guests = guests_from_specs(params['guests'])
        present = wanted_keys(module, guests) if params['state'] == 'present' else {}
        absent = [guest.name for guest in guests] if params['state'] == 'absent' else []
        refuse_symlinks(module, path)
        exists = os.path.exists(path)
        before = b''
        if exists:
            with open(path, 'rb') as stream:
                before = stream.read()
        text, report = merge(before.decode('utf-8', 'surrogateescape'), present, absent, params['exclusive'])
    except GuestError as error:
        module.fail_json(msg=str(error))
    after = text.encode('utf-8', 'surrogateescape')

    result = dict(changed=after != before, path=path, users=report, paired=paired(text),
                  added=sum(len(entry['added']) for entry in report.values()),
                  removed=sum(len(entry['removed']) for entry in report.values()))
    if module._diff:
        result['diff'] = dict(before=before.decode('utf-8', 'replace'), after=after.decode('utf-8', 'replace'),
                              before_header=path, after_header=path)
    if not exists and not after:
        exit_after_revocation(module, result)

    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        if not params['manage_dir']:
            module.fail_json(msg='directory %s does not exist (create it, or set manage_dir: true)' % directory)
        if not module.check_mode:
            os.makedirs(directory, mode=0o700)
            module.set_owner_if_different(directory, owner, False)
    if result['changed'] and not module.check_mode:
        write_atomically(module, path, after)
    file_args = module.load_file_common_arguments(dict(owner=owner, group=params['group'],
                                                       mode=params['mode'] or (None if exists else '0600')), path=path)
    if exists or not module.check_mode:
        result['changed'] = module.set_fs_attributes_if_different(file_args, result['changed'])
    exit_after_revocation(module, result)


if __name__ == '__main__':
    main()
