"""start_commands: the session the host role's boot service makes, as command lines, is the
module's own plan for a server that does not run."""

import grp
import itertools
import os
import shutil
import stat
import subprocess

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.pairing.tmux.plugins.module_utils.tmux import ServerState, current_account
from ansible_collections.pairing.tmux.plugins.module_utils.tmux_session import (
    ARGUMENT_SPEC,
    Command,
    MakeDirectory,
    SetGroup,
    SetMode,
    TmuxCommand,
    plan_session,
    start_commands,
)

SOCKET = '/run/pairing/tmux.sock'
TMUX = ('tmux', '-S', SOCKET)
OWNER = 'dev'


def task(**params):
    result = ArgumentSpecValidator(ARGUMENT_SPEC).validate({'socket_path': SOCKET, **params})
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def test_a_new_session_then_its_windows_and_panes_then_the_socket_as_root_then_access():
    params = task(socket_group='pairing', environment={'EDITOR': 'vi'},
                  windows=[{'name': 'code', 'panes': [{}, {'command': 'htop', 'split': 'horizontal'}]},
                           {'name': 'logs', 'panes': [{'command': 'journalctl -f'}, {}]}],
                  access=[{'user': 'tmux'}, {'user': 'tmux-ro', 'read_only': True}, {'user': OWNER}])
    assert start_commands(params, OWNER) == [
        Command((*TMUX, 'new-session', '-d', '-P', '-F', '#{window_id}', '-s', 'pairing', '-x', '200', '-y', '50',
                 '-n', 'code', '-e', 'EDITOR=vi'), False),
        Command((*TMUX, 'split-window', '-d', '-t', '=pairing:=code', '-h', 'htop'), False),
        Command((*TMUX, 'new-window', '-d', '-P', '-F', '#{window_id}', '-t', '=pairing:', '-n', 'logs',
                 'journalctl -f'), False),
        Command((*TMUX, 'split-window', '-d', '-t', '=pairing:=logs', '-v'), False),
        Command(('chgrp', 'pairing', SOCKET), True),
        Command(('chmod', '0660', SOCKET), True),
        Command((*TMUX, 'server-access', '-a', 'tmux'), False),
        Command((*TMUX, 'server-access', '-w', 'tmux'), False),
        Command((*TMUX, 'server-access', '-a', 'tmux-ro'), False),
        Command((*TMUX, 'server-access', '-r', 'tmux-ro'), False),
    ]


def test_without_windows_tmux_names_the_one_window_itself():
    assert start_commands(task(), OWNER) == [
        Command((*TMUX, 'new-session', '-d', '-P', '-F', '#{window_id}', '-s', 'pairing', '-x', '200', '-y', '50'),
                False)]


@pytest.mark.parametrize('windows', [
    [{'name': 'a.b', 'panes': [{}, {}]}],
    [{'name': 'twice'}, {'name': 'twice', 'panes': [{}, {}]}],
])
def test_a_window_tmux_cannot_find_by_name_cannot_be_split(windows):
    with pytest.raises(ValueError, match=r'^window (a\.b|twice): its further panes need a target by name'):
        start_commands(task(windows=windows), OWNER)


def test_a_window_with_a_dot_and_one_pane_needs_no_target():
    assert start_commands(task(windows=[{'name': 'a.b'}, {'name': 'a.b'}]), OWNER)[1].argv[-2:] == ('-n', 'a.b')


PANES = ([], [{'command': 'sleep 1; echo "$HOME 100%"'}], [{}, {'split': 'horizontal'}, {'command': 'top'}])
CASES = list(itertools.product(
    [[], [{'name': 'one'}], [{'name': 'one', 'panes': PANES[2]}, {'name': 'two words', 'panes': PANES[1]}],
     [{'name': name, 'panes': panes} for name, panes in zip(('a', 'b', 'c'), PANES)]],
    [{}, {'A': '1', 'B': 'x y'}],
    [None, 'pairing'],
    [None, '0640'],
    [None, [], [{'user': 'tmux'}, {'user': 'tmux-ro', 'read_only': True}, {'user': OWNER}, {'user': 'root'}]]))


@pytest.mark.parametrize(('windows', 'environment', 'group', 'mode', 'access'), CASES)
def test_the_service_runs_what_the_module_runs_on_a_host_without_a_server(windows, environment, group, mode, access):
    params = task(windows=windows, environment=environment, socket_group=group, socket_mode=mode, access=access)
    module = plan_session(ServerState(), params, OWNER).steps
    # The module makes the socket's directory; the service finds it made (tmpfiles.d).
    assert isinstance(module[0].operation, MakeDirectory)
    service = iter(start_commands(params, OWNER))
    for step in module[1:]:
        operation = step.operation
        if isinstance(operation, TmuxCommand):
            assert next(service) == Command((*TMUX, *operation.args), False)
            for split in operation.splits:
                # The module targets the id the command printed, the service the window by name.
                assert next(service) == Command((*TMUX, 'split-window', '-d', '-t', operation.window, *split), False)
                assert operation.window == '=pairing:=' + operation.args[operation.args.index('-n') + 1]
        elif isinstance(operation, SetGroup):
            assert next(service) == Command(('chgrp', operation.group, SOCKET), True)
        else:
            assert isinstance(operation, SetMode)
            assert next(service) == Command(('chmod', '%04o' % operation.mode, SOCKET), True)
    assert next(service, None) is None


@pytest.mark.skipif(not shutil.which('tmux'), reason='no tmux')
def test_tmux_makes_the_session_from_the_command_lines(tmp_path):
    socket = str(tmp_path / 'tmux.sock')
    params = task(socket_path=socket, socket_group=grp.getgrgid(os.getgid()).gr_name, environment={'EDITOR': 'vi'},
                  windows=[{'name': 'code', 'panes': [{'command': 'sleep 1001'}, {'command': 'sleep 1002'}]},
                           {'name': 'two words: odd', 'panes': [{}, {'command': 'sleep 1003', 'split': 'horizontal'},
                                                                {'command': 'sleep 1004'}]}],
                  access=[{'user': 'nobody', 'read_only': True}])
    # No tmux configuration of the account running the tests, and no client of theirs.
    env = {key: value for key, value in os.environ.items() if key != 'TMUX'} | {'HOME': str(tmp_path)}
    owner = current_account()

    def tmux(*args):
        return subprocess.run(['tmux', '-S', socket, *args], env=env, capture_output=True, text=True,
                              check=True).stdout

    try:
        for command in start_commands(params, owner):
            subprocess.run(command.argv, env=env, capture_output=True, text=True, check=True)
        # tmux writes a pane's command in quotes.
        panes = tmux('list-panes', '-s', '-t', '=pairing', '-F', '#{window_name}|#{pane_start_command}')
        assert panes.replace('"', '').splitlines() == [
            'code|sleep 1001', 'code|sleep 1002', 'two words: odd|', 'two words: odd|sleep 1004',
            'two words: odd|sleep 1003']
        assert tmux('show-environment', '-t', '=pairing', 'EDITOR') == 'EDITOR=vi\n'
        assert 'nobody (R)' in tmux('server-access', '-l').splitlines()
        assert stat.S_IMODE(os.stat(socket).st_mode) == 0o660
    finally:
        subprocess.run(['tmux', '-S', socket, 'kill-server'], env=env, capture_output=True, check=False)
