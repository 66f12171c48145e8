"""Parsing what tmux prints through explicit formats, and the attach wrapper's client records."""

from ansible_collections.pairing.tmux.plugins.module_utils.tmux import (
    parse_access,
    parse_clients,
    parse_environment,
    parse_panes,
    parse_version,
    read_client_records,
)


def test_versions():
    assert parse_version('tmux 3.3a') == (3, 3)
    assert parse_version('tmux 3.2') == (3, 2)
    assert parse_version('tmux next-3.5') == (3, 5)
    assert parse_version('tmux master') is None
    assert parse_version('') is None


def test_access_list():
    assert parse_access('dev (W)\ntmux (W)\ntmux-ro (R)\n') == {'dev': False, 'tmux': False, 'tmux-ro': True}
    assert parse_access('') == {}


def test_clients_and_panes_from_tab_separated_formats():
    clients = parse_clients('4242\t/dev/pts/3\ttmux\t0\t1764000000\tpairing\n'
                            '4343\t/dev/pts/4\ttmux-ro\t1\t1764000100\tpairing\nno server running\n')
    assert clients == [
        {'pid': 4242, 'tty': '/dev/pts/3', 'account': 'tmux', 'read_only': False, 'since': 1764000000,
         'session': 'pairing'},
        {'pid': 4343, 'tty': '/dev/pts/4', 'account': 'tmux-ro', 'read_only': True, 'since': 1764000100,
         'session': 'pairing'},
    ]
    assert parse_panes('0\tcode\t0\t100\n1\tside bar\t1\t101\n') == [
        {'window_index': 0, 'window': 'code', 'index': 0, 'pid': 100},
        {'window_index': 1, 'window': 'side bar', 'index': 1, 'pid': 101}]


def test_environment_skips_removed_variables():
    assert parse_environment('-DISPLAY\nFOO=a=b\nEMPTY=\n') == {'FOO': 'a=b', 'EMPTY': ''}


def test_client_records(tmp_path):
    (tmp_path / '4242').write_text('github_user=alice\naccount=tmux\nread_only=1\nsince=1764000000\njunk\n')
    (tmp_path / '4343').write_text('github_user=../../etc\n')
    (tmp_path / 'notes').write_text('github_user=bob\n')
    (tmp_path / '4444').symlink_to(tmp_path / '4242')
    assert read_client_records(str(tmp_path)) == {
        4242: {'github_user': 'alice', 'account': 'tmux', 'read_only': True, 'since': '1764000000'}}
    assert read_client_records(str(tmp_path / 'missing')) == {}


def test_client_records_name_the_github_user_in_lowercase(tmp_path):
    # A wrapper that read a marker written before names were canonical recorded Alice.
    (tmp_path / '4242').write_text('github_user=Alice\naccount=tmux\nread_only=0\n')
    assert read_client_records(str(tmp_path))[4242]['github_user'] == 'alice'


def test_client_records_name_guests_of_every_source(tmp_path):
    # The name a marker carries: GitLab's first.last_1 too, which GitHub's rule for input refuses.
    (tmp_path / '4242').write_text('github_user=first.last_1\naccount=tmux\nread_only=0\n')
    (tmp_path / '4343').write_text('github_user=-alice\naccount=tmux\nread_only=0\n')
    assert {pid: record['github_user'] for pid, record in read_client_records(str(tmp_path)).items()} == {
        4242: 'first.last_1'}
