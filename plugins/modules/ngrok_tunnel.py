#!/usr/bin/python
# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ngrok_tunnel
short_description: A public TCP address for sshd through the ngrok agent, run as a systemd service
version_added: 0.1.0
description:
  - Writes the ngrok agent's configuration (version 3, one TCP endpoint forwarding to
    O(upstream)) atomically with mode C(0600), runs the agent as a systemd service
    (C(Restart=always)), waits until the agent's local API reports the endpoint, and returns
    its public address and the ssh command guests use.
  - The authtoken is never printed; diffs show it masked. Re-running with the same settings
    changes nothing and does not restart the agent; a new token restarts it.
  - V(absent) stops the service and removes it and the configuration.
author: pairing.tmux contributors (@pairing-tmux)
options:
  state:
    description: Whether the tunnel should run.
    type: str
    choices: [present, absent]
    default: present
  name:
    description: The endpoint's name in the agent configuration and API.
    type: str
    default: pairing-ssh
  upstream:
    description: Where the tunnel forwards to, e.g. sshd's port.
    type: str
    default: "22"
  authtoken:
    description: The ngrok account's authtoken (required with V(present)).
    type: str
  url:
    description: A reserved TCP address of the account (C(tcp://N.tcp.ngrok.io:PORT)); default a random one.
    type: str
  region:
    description: The ngrok region to connect to; default the agent's choice.
    type: str
  config_path:
    description: Where the agent configuration is written.
    type: path
    default: /etc/ngrok/pairing.yml
  api_url:
    description: The agent's local API (its C(web_addr)).
    type: str
    default: http://127.0.0.1:4040
  wait_timeout:
    description: Seconds to wait for the endpoint to come up.
    type: int
    default: 60
  service:
    description: Name of the systemd service.
    type: str
    default: pairing-ngrok
  ngrok_path:
    description: The agent executable; default C(ngrok) on the PATH.
    type: path
  ssh_user:
    description: The account named in the returned ssh command.
    type: str
    default: tmux
attributes:
  check_mode:
    description: Reports what would change and changes nothing.
    support: full
  diff_mode:
    description: Shows the configuration before and after, with the authtoken masked.
    support: full
  platform:
    description: Targets with systemd.
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Guests reach sshd through ngrok
  pairing.tmux.ngrok_tunnel:
    authtoken: "{{ lookup('ansible.builtin.env', 'NGROK_AUTHTOKEN') }}"
  register: tunnel

- name: Stop the tunnel
  pairing.tmux.ngrok_tunnel:
    state: absent
"""

RETURN = r"""
public_url:
  description: The endpoint's public address.
  returned: when state is present
  type: str
  sample: tcp://0.tcp.ngrok.io:12345
host:
  description: Its host.
  returned: when state is present
  type: str
  sample: 0.tcp.ngrok.io
port:
  description: Its port.
  returned: when state is present
  type: int
  sample: 12345
ssh_command:
  description: What guests run.
  returned: when state is present
  type: str
  sample: ssh -t -p 12345 tmux@0.tcp.ngrok.io
"""

import json
import os
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.pairing.tmux.plugins.module_utils.ngrok import (
    agent_config,
    mask,
    public_url,
    render,
    split_tcp_url,
)

UNIT = """# Managed by pairing.tmux.ngrok_tunnel
[Unit]
Description=pairing.tmux ngrok tunnel to sshd
After=network-online.target
Wants=network-online.target
StartLimitIntervalSec=0

[Service]
ExecStart={ngrok} start --all --config {config} --log stdout
Restart=always
RestartSec=5
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
"""


def read(path):
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return handle.read()


def write(module, path, text, mode):
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700)
    handle, temp = tempfile.mkstemp(dir=directory)  # 0600 from the start: the token is never readable
    with os.fdopen(handle, 'w') as stream:
        stream.write(text)
    module.atomic_move(temp, path)
    os.chmod(path, mode)  # atomic_move gives a new file the umask's mode


def systemctl(module, *args, check=True):
    rc, out, err = module.run_command([module.get_bin_path('systemctl', required=True), *args])
    if check and rc != 0:
        module.fail_json(msg='systemctl %s failed: %s' % (' '.join(args), (err or out).strip()))
    return rc, out.strip()


def api(url, timeout=2):
    try:
        return json.loads(open_url(url, timeout=timeout, validate_certs=False).read())
    except Exception:  # pylint: disable=broad-except  # starting agents refuse, reset or answer half
        return None


def wait_for_endpoint(module, started):
    params = module.params
    deadline = started + params['wait_timeout']
    while True:
        address = public_url(params['name'], api(params['api_url'] + '/api/tunnels'),
                             api(params['api_url'] + '/api/endpoints'))
        if address:
            return address
        if time.monotonic() >= deadline:
            module.fail_json(msg='the ngrok agent did not report endpoint %s at %s within %d s: see journalctl -u %s'
                             % (params['name'], params['api_url'], params['wait_timeout'], params['service']))
        time.sleep(0.5)


def main():
    module = AnsibleModule(argument_spec=dict(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        name=dict(type='str', default='pairing-ssh'),
        upstream=dict(type='str', default='22'),
        authtoken=dict(type='str', no_log=True),
        url=dict(type='str'),
        region=dict(type='str'),
        config_path=dict(type='path', default='/etc/ngrok/pairing.yml'),
        api_url=dict(type='str', default='http://127.0.0.1:4040'),
        wait_timeout=dict(type='int', default=60),
        service=dict(type='str', default='pairing-ngrok'),
        ngrok_path=dict(type='path'),
        ssh_user=dict(type='str', default='tmux'),
    ), required_if=[('state', 'present', ['authtoken'])], supports_check_mode=True)
    params = module.params
    unit_path = '/etc/systemd/system/%s.service' % params['service']
    old_config = read(params['config_path'])

    if params['state'] == 'absent':
        changed = old_config is not None or os.path.exists(unit_path)
        if changed and not module.check_mode:
            systemctl(module, 'disable', '--now', params['service'], check=False)
            for path in (unit_path, params['config_path']):
                if os.path.exists(path):
                    os.unlink(path)
            systemctl(module, 'daemon-reload')
        module.exit_json(changed=changed)

    token = params['authtoken']
    web_addr = params['api_url'].split('://', 1)[-1].rstrip('/')
    config = render(agent_config(token, params['name'], params['upstream'], params['url'], params['region'], web_addr))
    ngrok = params['ngrok_path'] or module.get_bin_path('ngrok')
    if not ngrok:
        module.fail_json(msg='no ngrok agent on this host: install it (the host role does, pairing_ngrok_install), '
                             'or give ngrok_path')
    unit = UNIT.format(ngrok=ngrok, config=params['config_path'])
    config_changed, unit_changed = config != old_config, unit != read(unit_path)
    result = dict(changed=config_changed or unit_changed)
    if module._diff:
        result['diff'] = dict(before=mask(old_config or ''), after=mask(config),
                              before_header=params['config_path'], after_header=params['config_path'])
    if module.check_mode:
        module.exit_json(**result)

    if config_changed:
        write(module, params['config_path'], config, 0o600)
    if unit_changed:
        write(module, unit_path, unit, 0o644)
        systemctl(module, 'daemon-reload')
    enabled = systemctl(module, 'is-enabled', params['service'], check=False)[1] == 'enabled'
    # activating: systemd is restarting a stopped agent already (Restart=always).
    active = systemctl(module, 'is-active', params['service'], check=False)[1] in ('active', 'activating')
    if not enabled:
        systemctl(module, 'enable', params['service'])
        result['changed'] = True
    started = time.monotonic()
    if not active:
        systemctl(module, 'start', params['service'])
        result['changed'] = True
    elif config_changed or unit_changed:
        systemctl(module, 'restart', params['service'])

    address = wait_for_endpoint(module, started)
    try:
        host, port = split_tcp_url(address)
    except ValueError as error:
        module.fail_json(msg='the ngrok agent reported %s' % error, **result)
    result.update(public_url=address, host=host, port=port,
                  ssh_command='ssh -t -p %d %s@%s' % (port, params['ssh_user'], host))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
