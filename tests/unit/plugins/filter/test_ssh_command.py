"""The ssh command line guests are shown: one builder for ngrok_tunnel_info and the host role's
closing block, whose own expression a real ansible-playbook evaluates here."""

from pathlib import Path

import pytest
import yaml
from ansible_run import LOCALHOST, run_playbook

from ansible_collections.pairing.tmux.plugins.filter.ssh_command import FilterModule
from ansible_collections.pairing.tmux.plugins.module_utils.ssh_command import ssh_command

CONNECTION_INFO = Path(__file__).resolve().parents[4] / 'roles' / 'host' / 'tasks' / 'connection_info.yml'

# (address, port): the line guests are shown.
CASES = {
    ('192.0.2.1', 22): 'ssh -t tmux@192.0.2.1',
    ('relay.example', 2222): 'ssh -t -p 2222 tmux@relay.example',
    ('0.tcp.ngrok.io', 12345): 'ssh -t -p 12345 tmux@0.tcp.ngrok.io',
}


@pytest.mark.parametrize('where, line', CASES.items())
def test_ssh_t_and_a_port_only_when_not_22(where, line):
    address, port = where
    assert ssh_command(address, 'tmux', port) == line
    assert FilterModule().filters()['ssh_command'](address, 'tmux', str(port)) == line


def test_the_role_shows_the_same_line_and_nothing_without_an_address():
    (task,) = [task for task in yaml.safe_load(CONNECTION_INFO.read_text())
               if task['name'] == 'Put together how to connect']
    # The role's port is a template's result: a string before ansible-core 2.19.
    cases = {**CASES, **{(address, str(port)): line for (address, port), line in CASES.items()}, ('', None): ''}
    tasks = [{'name': 'case %d' % index, 'ansible.builtin.debug': {'msg': '{{ __pairing_guest_command }}'},
              'vars': {'__pairing_guest_command': task['vars']['__pairing_guest_command'], 'pairing_alias_user': 'tmux',
                       '__pairing_guest_address': address, '__pairing_guest_port': port}}
             for index, (address, port) in enumerate(cases)]
    run = run_playbook(yaml.safe_dump([{'name': 'Show', 'hosts': 'all', 'gather_facts': False, 'tasks': tasks}]),
                       LOCALHOST)
    assert [run.result('case %d' % index)['result']['msg'] for index in range(len(cases))] == list(cases.values())
