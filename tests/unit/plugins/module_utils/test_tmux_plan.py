"""tmux_session's plan, made from what tmux printed (captured -F output of tmux 3.3a, as literal
text) and the task's parameters as Ansible validates them: the steps, each with its command, and
the --diff it shows."""

import os

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.pairing.tmux.plugins.module_utils.tmux import (
    ServerState,
    current_account,
    describe_client,
    guest_access,
    parse_access,
    parse_clients,
    parse_environment,
    parse_panes,
)
from ansible_collections.pairing.tmux.plugins.module_utils.tmux_session import (
    MakeDirectory,
    Plan,
    SetGroup,
    SetMode,
    Step,
    StepFailed,
    TmuxCommand,
    apply_plan,
    plan_session,
    refusal,
)
from ansible_collections.pairing.tmux.plugins.modules.tmux_session import ARGUMENT_SPEC

SOCKET = '/run/pairing/tmux.sock'
OWNER = 'dev'
# list-panes -s -F PANE_FORMAT
PANES = '0\tcode\t0\t18555\n1\tside\t0\t18559\n1\tside\t1\t18563\n'
# show-environment -t =pairing
ENVIRONMENT = '-DISPLAY\n-KRB5CCNAME\nPAIRING=yes\n-SSH_AGENT_PID\n-SSH_ASKPASS\n'
# server-access -l
ACCESS = 'dev (W)\ntmux (W)\ntmux-ro (R)\n'
# list-clients -F CLIENT_FORMAT: a guest of each account, the owner, and a client of another session
CLIENTS = ('19172\t/dev/pts/2\ttmux\t0\t1764000000\tpairing\n'
           '19173\t/dev/pts/3\ttmux-ro\t1\t1764000100\tpairing\n'
           '19180\t/dev/pts/4\tdev\t0\t1764000200\tpairing\n'
           '19190\t/dev/pts/5\ttmux\t0\t1764000300\tother\n')
# The attach wrapper's record of the read-write guest's client (read_client_records).
RECORDS = {19172: {'github_user': 'alice'}}
BASE = {'run_as': OWNER, 'socket_path': SOCKET, 'socket_group': 'pairing',
        'windows': [{'name': 'code'}, {'name': 'side', 'panes': [{'command': 'sleep 100000'},
                                                                 {'command': 'sleep 200000', 'split': 'horizontal'}]}],
        'environment': {'PAIRING': 'yes'},
        'access': [{'user': 'tmux'}, {'user': 'tmux-ro', 'read_only': True}]}
CONVERGED = ('session: pairing\nwindows: code, side\nenvironment: PAIRING=yes\n'
             'access: tmux (read-write), tmux-ro (read-only)\nsocket: pairing 0660\n')


def task(**changes):
    """The parameters tmux_session sees for BASE with ``changes``, defaults filled in by Ansible's own validator."""
    result = ArgumentSpecValidator(ARGUMENT_SPEC).validate({**BASE, **changes})
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def running(**changes):
    """The server as read from the captured output: the session converged to BASE, three clients attached."""
    state = dict(socket_directory_exists=True, running=True, exists=True, panes=parse_panes(PANES),
                 environment=parse_environment(ENVIRONMENT), access=guest_access(parse_access(ACCESS), OWNER),
                 socket=('pairing', 0o660),
                 clients=[describe_client(client, RECORDS.get(client['pid'], {}))
                          for client in parse_clients(CLIENTS) if client['session'] == 'pairing'])
    return ServerState(**{**state, **changes})


def steps(plan):
    return [(step.description, step.operation) for step in plan.steps]


def test_a_converged_session_plans_nothing_and_shows_itself_before_and_after():
    plan = plan_session(running(), task(), OWNER)
    assert plan.steps == []
    assert plan.diff() == {'before': CONVERGED, 'after': CONVERGED}
    assert plan.access == {'tmux': False, 'tmux-ro': True}
    assert (plan.kicked, plan.detached) == ([], frozenset())


def test_a_missing_window_and_a_revoked_account():
    plan = plan_session(running(), task(access=[{'user': 'tmux'}], windows=[*BASE['windows'], {'name': 'more'}]),
                        OWNER)
    assert steps(plan) == [
        ('create window more', TmuxCommand(('new-window', '-d', '-P', '-F', '#{window_id}', '-t', '=pairing:',
                                            '-n', 'more'))),
        ('revoke tmux-ro', TmuxCommand(('server-access', '-d', 'tmux-ro'))),
    ]
    assert plan.diff() == {
        'before': CONVERGED,
        'after': 'session: pairing\nwindows: code, side, more\nenvironment: PAIRING=yes\naccess: tmux (read-write)\n'
                 'socket: pairing 0660\n'}
    # tmux detaches the revoked account's client; it is no longer in the session, but was not kicked.
    assert (plan.kicked, plan.detached) == ([], frozenset({'/dev/pts/3'}))


def test_without_a_server_every_step_is_planned_from_the_directory_on():
    plan = plan_session(ServerState(), task(), OWNER)
    assert steps(plan) == [
        ('create directory /run/pairing', MakeDirectory('/run/pairing', 0o750, 'dev', 'pairing')),
        ('create session pairing', TmuxCommand(('new-session', '-d', '-P', '-F', '#{window_id}', '-s', 'pairing',
                                                '-x', '200', '-y', '50', '-n', 'code', '-e', 'PAIRING=yes'))),
        ('create window side', TmuxCommand(('new-window', '-d', '-P', '-F', '#{window_id}', '-t', '=pairing:',
                                            '-n', 'side', 'sleep 100000'), splits=(('-h', 'sleep 200000'),),
                                           window='=pairing:=side')),
        # The socket tmux makes is 0600, in the owner's group.
        ('socket group pairing', SetGroup(SOCKET, 'pairing')),
        ('socket mode 0660', SetMode(SOCKET, 0o660)),
        ('allow tmux', TmuxCommand(('server-access', '-a', 'tmux'))),
        ('read-write tmux', TmuxCommand(('server-access', '-w', 'tmux'))),
        ('allow tmux-ro', TmuxCommand(('server-access', '-a', 'tmux-ro'))),
        ('read-only tmux-ro', TmuxCommand(('server-access', '-r', 'tmux-ro'))),
    ]
    assert plan.diff() == {'before': '', 'after': CONVERGED}


def test_a_new_session_without_windows_gets_tmux_default_one_and_no_socket_line():
    plan = plan_session(ServerState(socket_directory_exists=True),
                        task(windows=[], environment={}, socket_group=None, access=None), OWNER)
    assert steps(plan) == [
        ('create session pairing', TmuxCommand(('new-session', '-d', '-P', '-F', '#{window_id}', '-s', 'pairing',
                                                '-x', '200', '-y', '50')))]
    assert plan.diff()['after'] == 'session: pairing\nwindows: \n'


def test_the_socket_mode_is_set_again_after_tmux_made_the_socket_0600():
    plan = plan_session(running(socket=('pairing', 0o600)), task(), OWNER)
    assert steps(plan) == [('socket mode 0660', SetMode(SOCKET, 0o660))]
    assert plan.diff()['before'].endswith('socket: pairing 0600\n')
    assert plan.diff()['after'].endswith('socket: pairing 0660\n')


def test_a_changed_environment_is_set_for_panes_started_afterwards():
    plan = plan_session(running(), task(environment={'PAIRING': 'no', 'EDITOR': 'vi'}), OWNER)
    assert steps(plan) == [
        ('set environment EDITOR', TmuxCommand(('set-environment', '-t', '=pairing', 'EDITOR', 'vi'))),
        ('set environment PAIRING', TmuxCommand(('set-environment', '-t', '=pairing', 'PAIRING', 'no')))]
    assert 'environment: EDITOR=None\nenvironment: PAIRING=yes\n' in plan.diff()['before']
    assert 'environment: EDITOR=vi\nenvironment: PAIRING=no\n' in plan.diff()['after']


@pytest.mark.parametrize(('kick', 'detached'), [
    ({'github_users': ['Alice']}, [('/dev/pts/2', 'alice')]),
    ({'accounts': ['tmux-ro']}, [('/dev/pts/3', 'tmux-ro')]),
    ({'all_guests': True}, [('/dev/pts/2', 'alice'), ('/dev/pts/3', 'tmux-ro')]),
    ({'github_users': ['bob'], 'accounts': ['nobody']}, []),
])
def test_kicks_detach_the_clients_they_name_and_never_the_owners(kick, detached):
    plan = plan_session(running(), task(kick=kick), OWNER)
    assert steps(plan) == [('detach %s (%s)' % (tty, name), TmuxCommand(('detach-client', '-t', tty)))
                           for tty, name in detached]
    assert plan.kicked == [tty for tty, _name in detached]
    assert plan.detached == frozenset(plan.kicked)


def test_a_revoked_accounts_client_is_not_kicked_as_well():
    plan = plan_session(running(), task(access=[{'user': 'tmux'}], kick={'all_guests': True}), OWNER)
    assert plan.actions == ['revoke tmux-ro', 'detach /dev/pts/2 (alice)']
    assert plan.detached == frozenset({'/dev/pts/2', '/dev/pts/3'})


def test_the_owner_and_root_in_access_are_left_out_with_a_warning():
    plan = plan_session(running(), task(access=[*BASE['access'], {'user': 'dev'}, {'user': 'root'}]), OWNER)
    assert plan.steps == []
    assert plan.access == {'tmux': False, 'tmux-ro': True}
    assert plan.warnings == ['access: dev always has access to its own server; entry ignored',
                             'access: root always has access to its own server; entry ignored']


def test_windows_are_read_by_index_whatever_pane_base_index():
    state = running(panes=parse_panes('1\tcode\t1\t200\n2\tside\t1\t201\n2\tside\t2\t202\n'))
    assert state.windows == ['code', 'side']
    assert plan_session(state, task(), OWNER).steps == []


def test_absent_kills_a_session_that_exists_and_nothing_else():
    plan = plan_session(running(), task(state='absent'), OWNER)
    assert steps(plan) == [('kill session pairing', TmuxCommand(('kill-session', '-t', '=pairing')))]
    assert plan.diff() == {'before': CONVERGED, 'after': ''}
    assert plan_session(ServerState(), task(state='absent'), OWNER).diff() == {'before': '', 'after': ''}
    assert plan_session(ServerState(), task(state='absent'), OWNER).steps == []


def test_applying_file_steps_and_a_failing_one(tmp_path):
    socket = tmp_path / 'sock'
    socket.write_text('')
    socket.chmod(0o600)
    directory = tmp_path / 'run'
    plan = Plan([Step('create directory %s' % directory, MakeDirectory(str(directory), 0o700, current_account(), None)),
                 Step('socket mode 0660', SetMode(str(socket), 0o660)),
                 Step('socket mode 0640', SetMode(str(tmp_path / 'missing'), 0o640)),
                 Step('never reached', SetMode(str(socket), 0o600))], None, None)
    with pytest.raises(StepFailed) as failure:
        apply_plan(plan, tmux=None)
    assert failure.value.actions == ['create directory %s' % directory, 'socket mode 0660', 'socket mode 0640']
    assert str(failure.value).startswith('socket mode 0640: ')
    assert directory.is_dir()
    assert oct(socket.stat().st_mode & 0o777) == oct(0o660)


def test_refusals_before_any_change(tmp_path):
    (tmp_path / 'real').mkdir()
    (tmp_path / 'link').symlink_to(tmp_path / 'real')
    owner = current_account()

    def refused(version=(3, 3), **changes):
        params = task(**{'run_as': owner, 'socket_path': str(tmp_path / 'real' / 'tmux.sock'), 'socket_group': None,
                         'access': [{'user': owner}], **changes})
        return refusal(params, params['run_as'], version)

    assert refused() is None
    assert refused(socket_path=str(tmp_path / 'link' / 'tmux.sock')) == (
        '%s is a symbolic link: refusing to use it as the tmux socket' % (tmp_path / 'link'))
    assert refused(version=(3, 2)) == ('access needs tmux 3.3 or later for server-access; this host has 3.2: '
                                       'upgrade tmux, or leave access out')
    assert refused(access=[{'user': 'nobody-here'}]) == (
        'access: no account nobody-here on this host (create it, or remove it from access)')
    assert refused(access=[{'user': 'nobody-here'}], state='absent') is None
    assert refused(socket_group='no-group-here') == 'socket_group: no group no-group-here on this host'
    assert refused(run_as='nobody-here') == 'run_as: no account nobody-here on this host'
    if os.geteuid() == 0:
        os.chown(tmp_path / 'real', 65534, -1)
        assert refused().startswith('%s belongs to ' % (tmp_path / 'real'))
