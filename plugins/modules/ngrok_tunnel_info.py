#!/usr/bin/python
# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ngrok_tunnel_info
short_description: The ngrok agent's state, public address and last error, from its own log
version_added: 0.1.0
description:
  - Reads what the ngrok agent's service is doing, changing nothing and starting nothing -
    the service's state, the public TCP address of endpoint O(name) with the ssh command guests
    run, and the agent's last error.
  - The address and the error come from the agent's own JSON log (C(--log stdout --log-format json),
    as the C(pairing.tmux.host) role's service runs it) in the journal entries of the service's
    current invocation only, selected by journald's trusted fields C(_SYSTEMD_UNIT) and
    C(_SYSTEMD_INVOCATION_ID), each MESSAGE decoded as one JSON object. The address is the
    last record whose C(msg) is exactly C(started tunnel) and whose C(name) is O(name). Text a
    local account logs, an earlier run's address, or text a remote client makes the agent log
    select nothing.
  - With O(wait_timeout), waits for the address and fails as soon as the agent logs an error it
    does not get over by retrying (at crit level, or with one of ngrok's error codes), in one
    line with the code and what to do about it, e.g. for C(ERR_NGROK_8013) (TCP endpoints
    need a card on the ngrok account) or a refused authtoken.
author: pairing.tmux contributors (@pairing-tmux)
requirements:
  - systemd as PID 1, and journald keeping the service's output
notes:
  - When the journal no longer holds the record of the agent's current run (rotated away on
    a long-running agent), the address is unknown; C(systemctl restart pairing-ngrok) makes the
    agent log it again (a random address changes then).
  - The authtoken is never printed; the module never reads it. For the codes of a refused
    authtoken, whose message quotes the token, the error is the fix instead of ngrok's message.
seealso:
  - module: pairing.tmux.ngrok_tunnel
options:
  name:
    description: The endpoint's name in the agent configuration and its log.
    type: str
    default: pairing-ssh
  service:
    description: The agent's systemd service (without C(.service)).
    type: str
    default: pairing-ngrok
  ssh_user:
    description: The account named in the returned ssh command.
    type: str
    default: tmux
  wait_timeout:
    description:
      - Seconds to wait for the agent to log the endpoint, right after the agent was started.
      - V(0) answers at once with what the log holds; then a missing address is no failure.
    type: int
    default: 0
attributes:
  check_mode:
    description: Reads the same way in check mode; it never changes anything.
    support: full
  diff_mode:
    description: Nothing to show; it never changes anything.
    support: none
  platform:
    description: Targets with systemd.
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Wait for the address of the agent just started
  pairing.tmux.ngrok_tunnel_info:
    wait_timeout: 60
  register: tunnel

- name: How guests connect
  ansible.builtin.debug:
    msg: "{{ tunnel.ssh_command }}"

- name: Ask how the agent is doing, at once
  pairing.tmux.ngrok_tunnel_info:
  register: tunnel_state
"""

RETURN = r"""
active:
  description: The service's C(ActiveState) - V(active), V(activating) while systemd restarts the agent, V(inactive).
  returned: always
  type: str
  sample: active
public_url:
  description: The endpoint's public address, as the running agent logged it in its current run; V(null) until then.
  returned: always
  type: str
  sample: tcp://0.tcp.ngrok.io:12345
host:
  description: Its host; V(null) without an address.
  returned: always
  type: str
  sample: 0.tcp.ngrok.io
port:
  description: Its port; V(null) without an address.
  returned: always
  type: int
  sample: 12345
ssh_command:
  description: What guests run; V(null) without an address.
  returned: always
  type: str
  sample: ssh -t -p 12345 tmux@0.tcp.ngrok.io
error:
  description:
    - The agent's last error in its current run, one line; V(null) when it logged none.
    - For ngrok's codes of a missing card (C(ERR_NGROK_8013)) and a refused authtoken
      (C(ERR_NGROK_105), C(ERR_NGROK_106), C(ERR_NGROK_107)) the code and the fix, else
      ngrok's message and its code.
  returned: always
  type: str
  sample: >-
    ERR_NGROK_8013: add a card to the ngrok account at
    https://dashboard.ngrok.com/settings#id-verification - TCP endpoints need one
"""

import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pairing.tmux.plugins.module_utils.ngrok import (
    agent_error,
    agent_gave_up,
    endpoint_url,
    journal_records,
    split_tcp_url,
)
from ansible_collections.pairing.tmux.plugins.module_utils.ssh_command import ssh_command

_SERVICE = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,200}')
_INVOCATION = re.compile(r'[0-9a-f]{32}')


def service_state(module, unit):
    """The unit's ActiveState and its current invocation (a new one at every start, Restart=always's
    too; None before the first)."""
    systemctl = module.get_bin_path('systemctl', required=True)
    rc, out, err = module.run_command([systemctl, 'show', '--property', 'ActiveState,InvocationID', unit])
    if rc != 0:
        module.fail_json(msg='systemctl show %s failed: %s' % (unit, (err or out).strip()))
    fields = dict(line.split('=', 1) for line in out.splitlines() if '=' in line)
    invocation = fields.get('InvocationID', '')
    return fields.get('ActiveState', 'unknown'), invocation if _INVOCATION.fullmatch(invocation) else None


def agent_log(module, unit, invocation):
    """The agent's log records of this invocation, from journald's own fields only."""
    journalctl = module.get_bin_path('journalctl', required=True)
    rc, out, _err = module.run_command([journalctl, '--quiet', '--no-pager', '--output', 'json',
                                        '_SYSTEMD_UNIT=' + unit, '_SYSTEMD_INVOCATION_ID=' + invocation])
    return journal_records(out.splitlines(), unit, invocation) if rc == 0 else []


def look(module, unit):
    """What the agent's service and log say now: the result, and whether the agent gave up."""
    active, invocation = service_state(module, unit)
    records = agent_log(module, unit, invocation) if invocation else []
    # A stopped agent's last run may have logged an address: it leads nowhere now.
    address = endpoint_url(records, module.params['name']) if active == 'active' else None
    result = dict(changed=False, active=active, public_url=address, host=None, port=None, ssh_command=None,
                  error=agent_error(records))
    if address:
        host, port = split_tcp_url(address)  # endpoint_url returns only addresses split_tcp_url reads
        result.update(host=host, port=port, ssh_command=ssh_command(host, module.params['ssh_user'], port))
    return result, agent_gave_up(records)


def main():
    module = AnsibleModule(argument_spec=dict(
        name=dict(type='str', default='pairing-ssh'),
        service=dict(type='str', default='pairing-ngrok'),
        ssh_user=dict(type='str', default='tmux'),
        wait_timeout=dict(type='int', default=0),
    ), supports_check_mode=True)
    params = module.params
    if not _SERVICE.fullmatch(params['service']) or params['service'].endswith('.service'):
        module.fail_json(msg='service must be a unit name without .service (letters, digits, _ . -): %r'
                             % params['service'])
    unit = params['service'] + '.service'
    deadline = time.monotonic() + params['wait_timeout']
    while True:
        result, gave_up = look(module, unit)
        if result['public_url'] or params['wait_timeout'] <= 0:
            module.exit_json(**result)
        if gave_up:
            module.fail_json(msg='the ngrok agent could not open endpoint %s: %s' % (params['name'], result['error']),
                             **result)
        if time.monotonic() >= deadline:
            told = ('; it last logged the error: %s' % result['error'] if result['error']
                    else ' and logged no error: see journalctl -u %s' % params['service'])
            module.fail_json(msg='the ngrok agent did not report endpoint %s within %d s%s'
                                 % (params['name'], params['wait_timeout'], told), **result)
        time.sleep(0.5)


if __name__ == '__main__':
    main()
