"""pairing.tmux.tmux_start_commands: the session's command lines in systemd's syntax, read back
by systemd itself (the test mode of /lib/systemd/systemd dumps the argv it parsed)."""

import os
import re
import shutil
import subprocess
import tempfile

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pairing.tmux.plugins.filter.tmux_start_commands import systemd_word, tmux_start_commands

SYSTEMD = '/lib/systemd/systemd'
UNIT = 'pairing-quoting-test.service'
SESSION = {'socket_path': '/run/pairing/tmux.sock', 'socket_group': 'pairing',
           'windows': [{'name': 'pairing'},
                       {'name': 'tunnel', 'panes': [{'command': 'watch -t -n 10 systemctl status pairing-tunnel'}]},
                       {'name': 'odd one', 'panes': [{'command': r'''x='50% of $HOME'; echo "$x" \; "back\\slash"'''},
                                                     {'command': 'top', 'split': 'horizontal'}]}],
           'environment': {'GREETING': 'hello "guest"'},
           'access': [{'user': 'tmux'}, {'user': 'tmux-ro', 'read_only': True}]}
NASTY = ['a b', '50%', '%n', '$HOME', '${HOME}', '$$', 'back\\slash', 'trailing\\', 'x"y', "it's", ';', '\\;', 'a;',
         ';b', ' lead', '#x', 'ü €', '`id`', '\\x41', '', 'tab\there', 'new\nline']


def systemd_reads(start, *post):
    """The argv of each command line of a unit with ``ExecStart=start`` and ``ExecStartPost=``
    each of ``post``, as systemd parsed them, $ as systemd keeps it until it runs the command."""
    if not os.path.exists(SYSTEMD):
        pytest.skip('no %s to read the unit' % SYSTEMD)
    directory = tempfile.mkdtemp()
    try:
        os.chmod(directory, 0o755)  # systemd's test mode refuses root: it reads the unit as nobody
        with open(os.path.join(directory, UNIT), 'w') as unit:
            unit.write('[Service]\nType=forking\nExecStart=%s\n' % start)
            unit.writelines('ExecStartPost=%s\n' % line for line in post)
        # The trailing colon keeps the default unit paths, which the test mode needs.
        argv = ['env', 'SYSTEMD_UNIT_PATH=%s:' % directory, SYSTEMD, '--test', '--system', '--unit=' + UNIT,
                '--no-pager']
        dump = subprocess.run((['runuser', '-u', 'nobody', '--'] if os.geteuid() == 0 else []) + argv,
                              capture_output=True, text=True, check=True).stdout
    finally:
        shutil.rmtree(directory)
    ours = dump.split('-> Unit %s:' % UNIT, 1)[1].split('-> Unit ', 1)[0]
    return [dumped(line.split('Command Line: ', 1)[1]) for line in ours.splitlines() if 'Command Line: ' in line]


def dumped(line):
    """The arguments of a command line as systemd's dump writes it: each bare, or in double quotes
    with \\ before " \\ ` $, and a tab and a newline as \\t and \\n."""
    return [bare or re.sub(r'\\(.)', lambda escape: {'t': '\t', 'n': '\n'}.get(escape[1], escape[1]), quoted)
            for quoted, bare in re.findall(r'"((?:[^"\\]|\\.)*)"|(\S+)', line)]


def kept(word):
    """What systemd keeps of an argument it passes as ``word``: $ doubled until the command runs
    (systemd.service(5))."""
    return word.replace('$', '$$')


def test_systemd_reads_every_nasty_word_back_as_it_was():
    assert systemd_reads(' '.join(systemd_word(word) for word in ['/bin/echo', *NASTY])) == [
        ['/bin/echo', *map(kept, NASTY)]]


def test_words_as_a_unit_holds_them():
    assert [systemd_word(word) for word in ['tmux', '=pairing:=logs', '0660', ';', 'a;', '', '50% $x', 'a\\"b',
                                            'tab\tbell\x07del\x7f']] == [
        'tmux', '=pairing:=logs', '0660', '\\;', '"a;"', '""', '"50%% $$x"', '"a\\\\\\"b"',
        '"tab\\x09bell\\x07del\\x7f"']


def test_the_session_as_a_service_s_command_lines():
    commands = tmux_start_commands(SESSION, 'dev')
    tmux = 'tmux -S /run/pairing/tmux.sock '
    assert commands == [
        tmux + 'new-session -d -P -F "#{window_id}" -s pairing -x 200 -y 50 -n pairing -e "GREETING=hello \\"guest\\""',
        tmux + 'new-window -d -P -F "#{window_id}" -t =pairing: -n tunnel '
               '"watch -t -n 10 systemctl status pairing-tunnel"',
        tmux + r'''new-window -d -P -F "#{window_id}" -t =pairing: -n "odd one" '''
               r'''"x='50%% of $$HOME'; echo \"$$x\" \\; \"back\\\\slash\""''',
        tmux + 'split-window -d -t "=pairing:=odd one" -h top',
        '+chgrp pairing /run/pairing/tmux.sock',
        '+chmod 0660 /run/pairing/tmux.sock',
        tmux + 'server-access -a tmux',
        tmux + 'server-access -w tmux',
        tmux + 'server-access -a tmux-ro',
        tmux + 'server-access -r tmux-ro',
    ]


class NoDeepCopyDict(dict):
    def __deepcopy__(self, memo):
        raise AssertionError('deep-copied: a lazy container of Ansible copies every variable of the play with it')


class NoDeepCopyList(list):
    __deepcopy__ = NoDeepCopyDict.__deepcopy__


def as_ansible_passes(value):
    """``value`` in containers that refuse a deep copy, as Ansible's lazy ones make one costly."""
    if isinstance(value, dict):
        return NoDeepCopyDict((key, as_ansible_passes(item)) for key, item in value.items())
    if isinstance(value, list):
        return NoDeepCopyList(as_ansible_passes(item) for item in value)
    return value


def test_the_session_as_ansible_passes_it_is_read_without_a_deep_copy():
    assert tmux_start_commands(as_ansible_passes(SESSION), 'dev') == tmux_start_commands(SESSION, 'dev')


def test_systemd_runs_the_argv_the_plan_holds():
    commands = tmux_start_commands(SESSION, 'dev')
    tmux = ['tmux', '-S', '/run/pairing/tmux.sock']
    # The + of the root commands is a prefix of the line, no part of the argv.
    assert systemd_reads(*commands) == [[kept(word) for word in argv] for argv in [
        [*tmux, 'new-session', '-d', '-P', '-F', '#{window_id}', '-s', 'pairing', '-x', '200', '-y', '50',
         '-n', 'pairing', '-e', 'GREETING=hello "guest"'],
        [*tmux, 'new-window', '-d', '-P', '-F', '#{window_id}', '-t', '=pairing:', '-n', 'tunnel',
         'watch -t -n 10 systemctl status pairing-tunnel'],
        [*tmux, 'new-window', '-d', '-P', '-F', '#{window_id}', '-t', '=pairing:', '-n', 'odd one',
         SESSION['windows'][2]['panes'][0]['command']],
        [*tmux, 'split-window', '-d', '-t', '=pairing:=odd one', '-h', 'top'],
        ['chgrp', 'pairing', '/run/pairing/tmux.sock'],
        ['chmod', '0660', '/run/pairing/tmux.sock'],
        [*tmux, 'server-access', '-a', 'tmux'],
        [*tmux, 'server-access', '-w', 'tmux'],
        [*tmux, 'server-access', '-a', 'tmux-ro'],
        [*tmux, 'server-access', '-r', 'tmux-ro'],
    ]]


@pytest.mark.parametrize(('session', 'message'), [
    ({'windows': [{'panes': []}]}, 'tmux_start_commands: missing required arguments: name found in windows'),
    ({'state': 'absent'}, 'tmux_start_commands: a service makes a session; state must be present'),
    ({'windows': [{'name': 'v1.2', 'panes': [{}, {}]}]},
     'tmux_start_commands: window v1.2: its further panes need a target by name, which tmux cannot find for a name '
     'with a dot or one that two windows share'),
])
def test_sessions_a_service_cannot_make(session, message):
    with pytest.raises(AnsibleFilterError) as refused:
        tmux_start_commands(session, 'dev')
    assert str(refused.value) == message
