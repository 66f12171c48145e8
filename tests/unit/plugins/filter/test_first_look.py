"""pairing.tmux.first_look: the first look's lines as the role reads them."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pairing.tmux.plugins.filter.first_look import first_look

LOOK = [
    'Welcome to a login shell that prints a banner',
    'login=dev',
    'remembered={"tunnel": "none"}',
    'sshd_include=Include /etc/ssh/sshd_config.d/*.conf',
    'keys_file=',
    'missing=',
    'started=ssh.service pairing-tmux.service',
    'present=/etc/ssh/pairing',
    'groups=pairing',
    'account=tmux:pairing.tmux guest:/run/pairing:/usr/local/bin/pairing-attach:!:',
    'account=tmux-ro:pairing.tmux guest:/run/pairing:/usr/local/bin/pairing-attach:!:pairing',
    'file=/etc/ansible/facts.d/pairing.fact 600 root:root ' + 'a' * 64,
]


def test_each_name_keeps_its_text_and_the_lists_are_words_lines_and_files():
    assert first_look(LOOK) == {
        'login': 'dev',
        'remembered': '{"tunnel": "none"}',
        'sshd_include': 'Include /etc/ssh/sshd_config.d/*.conf',
        'keys_file': '',
        'missing': [],
        'started': ['ssh.service', 'pairing-tmux.service'],
        'present': ['/etc/ssh/pairing'],
        'groups': ['pairing'],
        'accounts': ['tmux:pairing.tmux guest:/run/pairing:/usr/local/bin/pairing-attach:!:',
                     'tmux-ro:pairing.tmux guest:/run/pairing:/usr/local/bin/pairing-attach:!:pairing'],
        'files': {'/etc/ansible/facts.d/pairing.fact': '600 root:root ' + 'a' * 64},
    }


def test_a_line_that_only_looks_like_one_of_the_looks_is_skipped():
    look = first_look([*LOOK, 'Login=root', 'missing tmux', ' started=sshd'])
    assert look['login'] == 'dev' and look['started'] == ['ssh.service', 'pairing-tmux.service']


@pytest.mark.parametrize('unsaid', ['missing', 'started', 'present', 'groups'])
def test_a_look_that_stopped_early_is_an_error_not_an_empty_list(unsaid):
    with pytest.raises(AnsibleFilterError, match='said nothing of %s: it stopped early' % unsaid):
        first_look([line for line in LOOK if not line.startswith(unsaid + '=')])
