"""The paired filter: who a keys file lets in, as status shows it."""

from ansible_collections.pairing.tmux.plugins.filter.paired import paired

KEY = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'
OTHER = 'AAAAC3NzaC1lZDI1NTE5AAAAIHTiJQt7TD8ns+pFT2iZQjsfKkeBHOPqZzQqT6RLRHnm'


def test_each_guest_once_with_role_and_expiry_and_the_owner_s_lines_left_out():
    text = ''.join([
        'ssh-ed25519 %s owner@laptop\n' % KEY,
        'restrict,pty ssh-ed25519 %s pairing.tmux:github:Alice\n' % KEY,
        'restrict,pty ssh-ed25519 %s pairing.tmux:github:alice\n' % OTHER,
        'restrict,pty,expiry-time="202612011805Z" ssh-ed25519 %s pairing.tmux:github:carol:ro\n' % OTHER,
        'expiry-time="20261231" ssh-ed25519 %s pairing.tmux:gitlab:dan\n' % KEY,
    ])
    assert paired(text) == [
        {'name': 'alice', 'read_only': False, 'expires': None, 'label': 'alice (rw)'},
        {'name': 'carol', 'read_only': True, 'expires': '202612011805Z',
         'label': 'carol (ro, until 2026-12-01 18:05 UTC)'},
        {'name': 'dan', 'read_only': False, 'expires': '20261231', 'label': 'dan (rw, until 2026-12-31)'},
    ]


def test_the_list_the_keys_module_returned_gets_the_same_labels():
    text = 'restrict,pty,expiry-time="202612011805Z" ssh-ed25519 %s pairing.tmux:github:carol:ro\n' % OTHER
    returned = [{'name': 'carol', 'read_only': True, 'expires': '202612011805Z'}]
    assert paired(returned) == paired(text)


def test_an_empty_or_missing_file_lets_nobody_in():
    assert paired('') == []
