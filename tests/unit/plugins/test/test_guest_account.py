"""The guest_account test: the owner and root are never guests, in the host role's preflight as
in tmux_session (tmux.is_guest_account); the role's own task run by a real ansible-playbook."""

from pathlib import Path

import pytest
import yaml
from ansible_run import LOCALHOST, run_playbook

from ansible_collections.pairing.tmux.plugins.module_utils.tmux import guest_access, is_guest_account, parse_access

VALIDATE = Path(__file__).resolve().parents[4] / 'roles' / 'host' / 'tasks' / 'validate.yml'
PREFLIGHT = 'Refuse an alias account that is the owner or root'


def test_the_owner_and_root_are_never_guests():
    assert [is_guest_account(account, 'dev') for account in ('dev', 'root', 'tmux', 'tmux-ro')] == [
        False, False, True, True]
    assert guest_access(parse_access('dev (W)\nroot (W)\ntmux (W)\ntmux-ro (R)\n'), 'dev') == {
        'tmux': False, 'tmux-ro': True}


# (alias account, read-only account, owner): whether the role goes on.
CASES = {
    ('tmux', 'tmux-ro', 'dev'): True,
    ('dev', 'tmux-ro', 'dev'): False,
    ('root', 'tmux-ro', 'dev'): False,
    ('tmux', 'dev', 'dev'): False,
    ('tmux', 'root', 'dev'): False,
    ('tmux', 'tmux', 'dev'): False,
    ('tmux', 'tmux-ro', 'root'): True,
}


@pytest.fixture(scope='module')
def preflight():
    """The role's task, run once per case: {case: whether it passed}."""
    (task,) = [task for task in yaml.safe_load(VALIDATE.read_text()) if task['name'] == PREFLIGHT]
    tasks = [dict(task, name='case %d' % index, ignore_errors=True,
                  vars={'pairing_alias_user': alias, 'pairing_read_only_user': read_only, 'pairing_owner': owner})
             for index, (alias, read_only, owner) in enumerate(CASES)]
    run = run_playbook(yaml.safe_dump([{'name': 'Preflight', 'hosts': 'all', 'gather_facts': False, 'tasks': tasks}]),
                       LOCALHOST)
    return {case: run.result('case %d' % index)['status'] == 'ok' for index, case in enumerate(CASES)}


@pytest.mark.parametrize('case, goes_on', CASES.items(), ids=['%s,%s,owner %s' % case for case in CASES])
def test_the_role_refuses_guest_accounts_that_are_the_owner_or_root(preflight, case, goes_on):
    assert preflight[case] is goes_on
