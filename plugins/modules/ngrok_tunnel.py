#!/usr/bin/python
# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ngrok_tunnel
short_description: A public TCP address for sshd through the ngrok agent, run as a systemd service
version_added: 0.1.0
description:
  - Writes the ngrok agent's configuration (version 3, one TCP endpoint forwarding to
    O(upstream)) atomically, root-owned with mode C(0600) from the first byte on, runs the
    agent as a systemd service (C(Restart=always)), waits until the agent logs the endpoint,
    and returns its public address and the ssh command guests use.
  - The agent runs as an unprivileged account of its own (C(DynamicUser=yes)), with no
    capabilities, outbound network only and a system call filter. It never reads the
    configuration file itself; systemd hands it over as a credential (C(LoadCredential=)),
    readable by the agent alone.
  - The agent's local web interface and API are turned off (C(web_addr) V(false)). On
    C(127.0.0.1:4040) every local account, the guests' alias accounts included, could use it
    to publish other local services on the owner's ngrok account or to stop the tunnel. The
    public address is read from the agent's own log instead (C(--log stdout --log-format json)),
    from the journal entries of the service's current invocation only, selected by journald's
    trusted fields C(_SYSTEMD_UNIT) and C(_SYSTEMD_INVOCATION_ID), each MESSAGE decoded as one
    JSON object, and of those the last whose C(msg) is exactly C(started tunnel) and whose
    C(name) is O(name). Text a remote client makes the agent log stays a string inside a
    record and is never read as a field.
  - The authtoken is never printed; diffs show it masked. Re-running with the same settings
    changes nothing and does not restart the agent; a new token restarts it.
  - V(absent) stops the service and removes it, its state and the configuration.
author: pairing.tmux contributors (@pairing-tmux)
requirements:
  - systemd 247 or later (C(LoadCredential=)) as PID 1, and journald keeping the service's output
notes:
  - The address is learned from the journal. When the journal no longer holds the record of
    the agent's current run (rotated away on a long-running agent), the module fails after
    O(wait_timeout); C(systemctl restart pairing-ngrok) makes the agent log it again (a random
    address changes then).
  - The option C(api_url) is gone with the local API.
options:
  state:
    description: Whether the tunnel should run.
    type: str
    choices: [present, absent]
    default: present
  name:
    description: The endpoint's name in the agent configuration and its log.
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
    description: The ngrok account's authtoken (required with V(present)).
    type: str
  url:
    description: A reserved TCP address of the account (C(tcp://N.tcp.ngrok.io:PORT)); default a random one.
    type: str
  region:
    description: The ngrok region to connect to; default the agent's choice.
    type: str
  config_path:
    description: Where the agent configuration is written (root-owned, mode C(0600)).
    type: path
    default: /etc/ngrok/pairing.yml
  wait_timeout:
    description: Seconds to wait for the agent to log the endpoint.
    type: int
    default: 60
  service:
    description: Name of the systemd service (also the name of its state directory).
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
  description: The endpoint's public address, as the agent logged it.
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

import os
import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pairing.tmux.plugins.module_utils.ngrok import (
    MASK,
    agent_config,
    agent_error,
    endpoint_url,
    journal_records,
    mask,
    render,
    split_tcp_url,
)
from ansible_collections.pairing.tmux.plugins.module_utils.safe_file import write_atomic

# The agent as an account of its own with nothing but outbound network: no capabilities, no
# other users' processes, no devices, no kernel knobs, a system call filter (a call outside it
# fails with EPERM; by default it would kill the agent). AF_NETLINK: reading the interfaces needs
# it (Go's net.Interfaces, glibc's nss-myhostname). The configuration reaches the agent as a
# credential: systemd copies the root-owned 0600 file to a directory only the agent's account can
# read. The configuration turns the local API off (module_utils/ngrok.py); the agent's JSON log
# on stdout, in the journal, is where the module learns the address.
UNIT = """# Managed by pairing.tmux.ngrok_tunnel
[Unit]
Description=pairing.tmux ngrok tunnel to sshd
After=network-online.target
Wants=network-online.target
StartLimitIntervalSec=0

[Service]
DynamicUser=yes
LoadCredential=ngrok.yml:{config}
StateDirectory={service}
StateDirectoryMode=0700
Environment=HOME=%S/{service}
ExecStart={ngrok} start --all --config ${{CREDENTIALS_DIRECTORY}}/ngrok.yml --log stdout --log-format json
Restart=always
RestartSec=5
UMask=0077
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
ProtectProc=invisible
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
"""
_SERVICE = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,200}')
_INVOCATION = re.compile(r'[0-9a-f]{32}')
# Paths go into the unit as they are: systemd would expand a '%' and split ExecStart= at blanks.
_UNSAFE_PATH = re.compile(r'[%\s\x00-\x1f\x7f]')


def read(path):
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return handle.read()


def write(module, path, text, mode):
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700)
    try:
        write_atomic(path, text, mode)
    except OSError as error:
        module.fail_json(msg='cannot write %s: %s' % (path, error))


def systemctl(module, *args, check=True):
    rc, out, err = module.run_command([module.get_bin_path('systemctl', required=True), *args])
    if check and rc != 0:
        module.fail_json(msg='systemctl %s failed: %s' % (' '.join(args), (err or out).strip()))
    return rc, out.strip()


def invocation_id(module, service):
    """The service's current invocation (a new one at every start, Restart=always's too), or None."""
    value = systemctl(module, 'show', '-p', 'InvocationID', '--value', service + '.service', check=False)[1]
    return value if _INVOCATION.fullmatch(value) else None


def agent_log(module, unit, invocation):
    """The agent's log records of this invocation, from journald's own fields only."""
    journalctl = module.get_bin_path('journalctl', required=True)
    rc, out, _err = module.run_command([journalctl, '--quiet', '--no-pager', '--output', 'json',
                                        '_SYSTEMD_UNIT=' + unit, '_SYSTEMD_INVOCATION_ID=' + invocation])
    return journal_records(out.splitlines(), unit, invocation) if rc == 0 else []


def wait_for_endpoint(module, deadline, result):
    params = module.params
    unit = params['service'] + '.service'
    last_error = None
    while True:
        invocation = invocation_id(module, params['service'])
        if invocation:
            records = agent_log(module, unit, invocation)
            address = endpoint_url(records, params['name'])
            if address:
                return address
            last_error = agent_error(records) or last_error
        if time.monotonic() >= deadline:
            if last_error:
                told = '; it last logged the error: %s' % (
                    last_error.replace(params['authtoken'], MASK) if params['authtoken'] else last_error)
            else:
                told = ' and logged no error: see journalctl -u %s' % params['service']
            module.fail_json(msg='the ngrok agent did not report endpoint %s within %d s%s'
                                 % (params['name'], params['wait_timeout'], told), **result)
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
        wait_timeout=dict(type='int', default=60),
        service=dict(type='str', default='pairing-ngrok'),
        ngrok_path=dict(type='path'),
        ssh_user=dict(type='str', default='tmux'),
    ), required_if=[('state', 'present', ['authtoken'])], supports_check_mode=True)
    params = module.params
    if not _SERVICE.fullmatch(params['service']) or params['service'].endswith('.service'):
        module.fail_json(msg='service must be a unit name without .service (letters, digits, _ . -): %r'
                             % params['service'])
    if not os.path.isabs(params['config_path']) or _UNSAFE_PATH.search(params['config_path']):
        module.fail_json(msg='config_path must be an absolute path without %%, blanks or control characters: %r'
                             % params['config_path'])
    unit_path = '/etc/systemd/system/%s.service' % params['service']
    old_config = read(params['config_path'])

    if params['state'] == 'absent':
        changed = old_config is not None or os.path.exists(unit_path)
        if changed and not module.check_mode:
            systemctl(module, 'disable', '--now', params['service'], check=False)
            systemctl(module, 'clean', '--what=state', params['service'], check=False)
            for path in (unit_path, params['config_path']):
                if os.path.exists(path):
                    os.unlink(path)
            systemctl(module, 'daemon-reload')
        module.exit_json(changed=changed)

    token = params['authtoken']
    try:
        config = render(agent_config(token, params['name'], params['upstream'], params['url'], params['region']))
    except ValueError as error:
        module.fail_json(msg=str(error))
    ngrok = params['ngrok_path'] or module.get_bin_path('ngrok')
    if not ngrok:
        module.fail_json(msg='no ngrok agent on this host: install it (the host role does, pairing_ngrok_install), '
                             'or give ngrok_path')
    if _UNSAFE_PATH.search(ngrok):
        module.fail_json(msg='ngrok_path must be a path without %%, blanks or control characters: %r' % ngrok)
    unit = UNIT.format(ngrok=ngrok, config=params['config_path'], service=params['service'])
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
    deadline = time.monotonic() + params['wait_timeout']
    if not active:
        systemctl(module, 'start', params['service'])
        result['changed'] = True
    elif config_changed or unit_changed:
        systemctl(module, 'restart', params['service'])

    address = wait_for_endpoint(module, deadline, result)
    host, port = split_tcp_url(address)  # endpoint_url returns only addresses split_tcp_url reads
    result.update(public_url=address, host=host, port=port,
                  ssh_command='ssh -t -p %d %s@%s' % (port, params['ssh_user'], host))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
