#!/usr/bin/python
# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ngrok_tunnel
short_description: The ngrok agent's configuration for a public TCP address to sshd
version_added: 0.1.0
description:
  - Writes the ngrok agent's configuration (version 3, one TCP endpoint forwarding to
    O(upstream)) atomically, root-owned with mode C(0600) from the first byte on, and never
    through a symbolic link.
  - The configuration turns the agent's local web interface and API off (C(web_addr) V(false)).
    On C(127.0.0.1:4040) every local account, the guests' alias accounts included, could use it
    to publish other local services on the owner's ngrok account or to stop the tunnel.
  - The module writes the file and nothing else. The C(pairing.tmux.host) role runs the agent as
    its service C(pairing-ngrok) (template C(pairing-ngrok.service.j2) - an account of its own,
    the file handed over as a systemd credential, the agent's JSON log in the journal), restarts
    it when this module reports a change, and learns the public address with
    M(pairing.tmux.ngrok_tunnel_info).
  - The authtoken is never printed; diffs show it masked. Without O(authtoken), the token
    already in the file is kept, so only a run that creates the configuration or changes the
    token needs one.
  - V(absent) removes the configuration.
author: pairing.tmux contributors (@pairing-tmux)
notes:
  - The options C(service), C(wait_timeout), C(ngrok_path) and C(ssh_user) are gone with the
    service handling; see M(pairing.tmux.ngrok_tunnel_info) for the address.
seealso:
  - module: pairing.tmux.ngrok_tunnel_info
options:
  state:
    description: Whether the configuration should exist.
    type: str
    choices: [present, absent]
    default: present
  name:
    description: The endpoint's name in the configuration and the agent's log.
    type: str
    default: pairing-ssh
  upstream:
    description:
      - Where the tunnel forwards to, e.g. sshd's port.
      - A port (V(22), on localhost), V(HOST:PORT) (V(127.0.0.1:2022), V([::1]:22)) or
        V(tcp://HOST:PORT); the configuration gets the port, or the other two as
        C(tcp://HOST:PORT).
    type: str
    default: "22"
  authtoken:
    description:
      - The ngrok account's authtoken.
      - Needed to create the configuration. Left out (or empty), the token in the existing
        configuration is kept; a file this module did not write (not its JSON) is refused then.
    type: str
  url:
    description: A reserved TCP address of the account (C(tcp://N.tcp.ngrok.io:PORT)); default a random one.
    type: str
  region:
    description: The ngrok region to connect to; default the agent's choice.
    type: str
  config_path:
    description: Where the configuration is written (root-owned, mode C(0600)).
    type: path
    default: /etc/ngrok/pairing.yml
attributes:
  check_mode:
    description: Reports what would change and changes nothing.
    support: full
  diff_mode:
    description: Shows the configuration before and after, with the authtoken masked.
    support: full
  platform:
    description: Any POSIX target.
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: The agent's configuration, a TCP endpoint to the tunnel's sshd
  pairing.tmux.ngrok_tunnel:
    authtoken: "{{ lookup('ansible.builtin.env', 'NGROK_AUTHTOKEN') }}"
    upstream: 127.0.0.1:922
  register: ngrok_config

- name: Another upstream, keeping the token already configured
  pairing.tmux.ngrok_tunnel:
    upstream: 127.0.0.1:2022

- name: Remove the configuration
  pairing.tmux.ngrok_tunnel:
    state: absent
"""

RETURN = r"""
diff:
  description: The configuration before and after, the authtoken masked (with C(--diff)).
  returned: when diff mode is on
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pairing.tmux.plugins.module_utils.ngrok import (
    agent_config,
    configured_authtoken,
    mask,
    render,
)
from ansible_collections.pairing.tmux.plugins.module_utils.safe_file import write_atomic


def read(path):
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return handle.read()


def authtoken(module, path, old_config):
    """The token to write: the one given, else the one the existing configuration holds."""
    if module.params['authtoken']:
        return module.params['authtoken']
    if old_config is None:
        module.fail_json(msg='authtoken is required to create %s' % path)
    token = configured_authtoken(old_config)
    if token is None:
        module.fail_json(msg='no authtoken to keep: %s is not a configuration this module wrote; give the authtoken'
                             % path)
    return token


def write(module, path, text):
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700)
    try:
        write_atomic(path, text, 0o600)
    except OSError as error:
        module.fail_json(msg='cannot write %s: %s' % (path, error))


def main():
    module = AnsibleModule(argument_spec=dict(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        name=dict(type='str', default='pairing-ssh'),
        upstream=dict(type='str', default='22'),
        authtoken=dict(type='str', no_log=True),
        url=dict(type='str'),
        region=dict(type='str'),
        config_path=dict(type='path', default='/etc/ngrok/pairing.yml'),
    ), supports_check_mode=True)
    params = module.params
    path = params['config_path']
    old_config = read(path)

    if params['state'] == 'absent':
        config = None
    else:
        token = authtoken(module, path, old_config)
        try:
            config = render(agent_config(token, params['name'], params['upstream'], params['url'], params['region']))
        except ValueError as error:
            module.fail_json(msg=str(error))
    result = dict(changed=config != old_config)
    if module._diff:
        result['diff'] = dict(before=mask(old_config or ''), after=mask(config or ''),
                              before_header=path, after_header=path)
    if result['changed'] and not module.check_mode:
        if config is None:
            os.unlink(path)
        else:
            write(module, path, config)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
