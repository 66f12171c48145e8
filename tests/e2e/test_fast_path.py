"""pair.yml on a set-up host: when only the guest list changed since the host's last full run,
the run changes the keys file and ends revoked connections, nothing else; any other change - an
sshd setting, the session's windows, new code - takes the whole role, guests and all; so does the
run after one that stopped half-way."""

import json
import os
import shutil

import pytest
from ansible_run import ROOT, run_playbook
from pairing_env import Terminal, make_pairing

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason='test hosts need root'),
              pytest.mark.parametrize('testhosts', [('quick',)], indirect=True)]

DECISION = 'pairing.tmux.host : Decide the path, the guests-only one or the whole role'
WHOLE_ROLE = 'pairing.tmux.host : The whole role'
DROPIN = '/etc/ssh/sshd_config.d/00-pairing.conf'
NOTES = [{'name': 'pairing'}, {'name': 'notes'}]
WINDOWS = 'tmux -S /run/pairing/tmux.sock list-windows -t =pairing -F "#{window_name}"'


@pytest.fixture(scope='module')
def pairing(testhosts, key_server, keys):
    pairing = make_pairing(testhosts, key_server, keys, 'quick')
    # The playbook's own guest inputs, not the harness's defaults.
    for name in ('pairing_guests', 'pairing_read_only_guests'):
        del pairing.vars[name]
    yield pairing
    Terminal.close_all()


def pair(pairing, collection=ROOT, **extra):
    """pair.yml of ``collection`` (a checkout of the collection) on the test host."""
    env = {'ANSIBLE_COLLECTIONS_PATH': os.path.dirname(os.path.dirname(os.path.dirname(collection)))} \
        if collection != ROOT else {}
    run = run_playbook(os.path.join(collection, 'playbooks', 'pair.yml'), pairing.host.harness.inventory(['quick']),
                       {**pairing.vars, 'target': 'quick', **extra}, env=env)
    assert run.returncode == 0, run.output[-3000:]
    return run


def path(run):
    """Which way the run went: 'guests' (only the guest list) or 'whole' (the whole role)."""
    guests_only = run.result(DECISION)['result']['ansible_facts']['__pairing_fast']
    assert (run.result(WHOLE_ROLE)['status'] == 'skipped') == guests_only, run.result(WHOLE_ROLE)
    return 'guests' if guests_only else 'whole'


def paired(pairing):
    marks = pairing.host.run("grep -o 'pairing.tmux:github:[a-z:]*' /etc/ssh/pairing/authorized_keys | sort -u")
    return marks.stdout.split()


def test_only_the_guest_list_changes_on_the_guests_only_path_and_a_demoted_guest_loses_the_keyboard(pairing):
    assert path(pair(pairing, pair='alice')) == 'whole'
    alice = pairing.terminal('quick-alice', 'alice')
    # The expiry timer (second 1 of every minute) would end a demoted connection too, if it fell
    # between the keys task's write and its revocation: stopped here, only the run can.
    pairing.host.run('systemctl stop pairing-revoke.timer')
    try:
        assert alice.wait_for('dev@quick'), alice.screen()
        run = pair(pairing, pair='bob', read_only='alice')
        assert path(run) == 'guests'
        # One task, one round trip after the look: the keys, and the connections they no longer let in.
        assert run.changed() == ["pairing.tmux.host : Guests' keys from GitHub, nobody else's"], run.changed()
        # Alice's read-write connection ends; she is read-only from now on.
        assert alice.wait_for('[ssh exited'), alice.screen()
    finally:
        alice.close()
        pairing.host.run('systemctl start pairing-revoke.timer')
    assert paired(pairing) == ['pairing.tmux:github:alice:ro', 'pairing.tmux:github:bob']
    assert pairing.lands('quick-bob', 'bob') is True
    assert path(pair(pairing, pair='bob')) == 'guests'


@pytest.mark.parametrize('change, applied, guests, marker', [
    ({'pairing_sshd_settings': {'LoginGraceTime': 25}}, 'grep -x "LoginGraceTime 25" ' + DROPIN,
     {'pair': 'carol'}, 'pairing.tmux:github:carol'),
    ({'pairing_windows': NOTES}, WINDOWS + ' | grep -x notes', {'read_only': 'bob'}, 'pairing.tmux:github:bob:ro'),
])
def test_a_change_beside_a_guest_list_change_takes_the_whole_role(pairing, change, applied, guests, marker):
    assert pairing.host.run(applied, check=False).returncode != 0 and marker not in paired(pairing)
    run = pair(pairing, **guests, **change)
    assert path(run) == 'whole'
    assert pairing.host.run(applied, check=False).returncode == 0 and marker in paired(pairing)
    assert path(pair(pairing, **guests, **change)) == 'guests'


def test_new_code_takes_the_whole_role(pairing, tmp_path):
    collection = tmp_path / 'ansible_collections' / 'pairing' / 'tmux'
    shutil.copytree(ROOT, collection, ignore=shutil.ignore_patterns('.git', '.build', '.venv', '__pycache__', 'tests'))
    template = collection / 'roles' / 'host' / 'templates' / 'sshd_pairing.conf.j2'
    template.write_text(template.read_text() + '# the next release\n')
    settings = {'pairing_windows': NOTES}  # the last full run's other inputs
    assert path(pair(pairing, str(collection), pair='alice', **settings)) == 'whole'
    assert pairing.host.run('tail -n 1 ' + DROPIN).stdout == '# the next release\n'
    assert path(pair(pairing, pair='alice', **settings)) == 'whole'  # and this code again
    assert '# the next release' not in pairing.host.run('cat ' + DROPIN).stdout


def test_the_run_after_one_that_stopped_half_way_takes_the_whole_role(pairing):
    host = pairing.host
    settings = {'pairing_windows': NOTES}
    assert path(pair(pairing, pair='alice', **settings)) == 'guests'
    host.run("mkdir -p /etc/systemd/system/ssh.service.d && printf '[Service]\\nExecReload=\\nExecReload=/bin/false\\n'"
             ' > /etc/systemd/system/ssh.service.d/fail-reload.conf && systemctl daemon-reload')
    try:
        run = run_playbook(os.path.join(ROOT, 'playbooks', 'pair.yml'), host.harness.inventory(['quick']),
                           {**pairing.vars, 'target': 'quick', 'pair': 'alice', **settings,
                            'pairing_sshd_settings': {'LoginGraceTime': 20}})
        assert run.returncode != 0 and path(run) == 'whole'
    finally:
        host.run('rm -r /etc/systemd/system/ssh.service.d && systemctl daemon-reload')
    # The inputs of the last run that ended well: still the whole role, the host may be half-way.
    assert path(pair(pairing, pair='alice', **settings)) == 'whole'
    assert path(pair(pairing, pair='alice', **settings)) == 'guests'


def test_without_pairing_revoke_a_run_takes_the_whole_role_and_still_cuts_off_a_demoted_guest(pairing):
    """The guests-only path ends revoked connections with pairing-revoke, in the keys task's round
    trip: removed behind the run's back, the run takes the whole role, which puts it back first."""
    settings = {'pairing_windows': NOTES}
    assert path(pair(pairing, pair='bob', **settings)) == 'guests'
    bob = pairing.terminal('unrevoked-bob', 'bob')
    pairing.host.run('systemctl stop pairing-revoke.timer')
    try:
        assert bob.wait_for('dev@quick'), bob.screen()
        pairing.host.run('rm /usr/local/libexec/pairing-revoke.py')
        assert path(pair(pairing, pair='alice', read_only='bob', **settings)) == 'whole'
        assert bob.wait_for('[ssh exited'), bob.screen()
    finally:
        bob.close()
        pairing.host.run('systemctl start pairing-revoke.timer')
    assert path(pair(pairing, pair='alice', read_only='bob', **settings)) == 'guests'


def test_unpair_without_pairing_revoke_takes_no_key_away(pairing):
    """Keys taken away while their connections stay would be a revocation in name only."""
    host = pairing.host
    keys = host.run('cat /etc/ssh/pairing/authorized_keys').stdout
    host.run('mv /usr/local/libexec/pairing-revoke.py /root/')
    try:
        run = run_playbook(os.path.join(ROOT, 'playbooks', 'unpair.yml'), host.harness.inventory(['quick']),
                           {'target': 'quick', 'pair': 'alice'})
        assert run.returncode != 0
        assert ('/usr/local/libexec/pairing-revoke.py is missing on quick, which the role set up: unpair could take '
                'the keys away but not end their connections.') in run.output, run.output[-3000:]
        assert host.run('cat /etc/ssh/pairing/authorized_keys').stdout == keys
    finally:
        host.run('mv /root/pairing-revoke.py /usr/local/libexec/')


def test_a_record_edited_by_hand_takes_the_whole_role_which_refuses_it(pairing):
    """The guests-only path does not check the settings the host remembers: its last full run
    checked them. Edited behind the role's back, with that run's shape kept, they change the
    shape: the whole role runs, and refuses them before any change."""
    host = pairing.host
    settings = {'pairing_windows': NOTES}
    pair(pairing, pair='alice', **settings)  # the record of a full run of this shape, this one's or an earlier one's
    remembered = host.run('cat /etc/ansible/facts.d/pairing.fact').stdout
    keys = host.run('cat /etc/ssh/pairing/authorized_keys').stdout
    edited = json.dumps({**json.loads(remembered), 'tunnel': 'sideways'})
    host.run('cat > /etc/ansible/facts.d/pairing.fact', input=edited)
    try:
        run = run_playbook(os.path.join(ROOT, 'playbooks', 'pair.yml'), host.harness.inventory(['quick']),
                           {**pairing.vars, 'target': 'quick', 'pair': 'bob', **settings})
        assert run.returncode == 2 and path(run) == 'whole', run.output[-3000:]
        (failure,) = [record['result']['msg'] for record in run.records if record['status'] == 'failed']
        assert 'says value of pairing_tunnel must be one of: none, ssh, ngrok, got: sideways' in failure, failure
        assert host.run('cat /etc/ssh/pairing/authorized_keys').stdout == keys
    finally:
        host.run('cat > /etc/ansible/facts.d/pairing.fact', input=remembered)
    assert path(pair(pairing, pair='alice', **settings)) == 'guests'
