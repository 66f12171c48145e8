"""pairing.tmux.key_fingerprint: the line ssh-keygen -l prints for a key, without its comment."""

import subprocess

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pairing.tmux.plugins.filter.key_fingerprint import key_fingerprint


@pytest.mark.parametrize('keytype', ['ed25519', 'ecdsa', 'rsa'])
def test_it_is_what_ssh_keygen_prints_but_the_comment(tmp_path, keytype):
    path = tmp_path / keytype
    subprocess.run(['ssh-keygen', '-q', '-t', keytype, '-N', '', '-C', 'root@host', '-f', str(path)], check=True)
    printed = subprocess.run(['ssh-keygen', '-lf', str(path) + '.pub'], capture_output=True, text=True,
                             check=True).stdout.split()
    keytype_name, blob = (tmp_path / (keytype + '.pub')).read_text().split()[:2]
    assert printed[2] == 'root@host'
    assert key_fingerprint(keytype_name + ' ' + blob) == ' '.join(printed[:2] + printed[3:])


@pytest.mark.parametrize('line, reason', [
    ('', 'empty line'),
    ('ssh-ed25519', 'key has no key data'),
    ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI', 'not valid base64'),
])
def test_anything_but_a_key_is_refused_in_one_line(line, reason):
    with pytest.raises(AnsibleFilterError, match=r'^key_fingerprint: .*' + reason) as failure:
        key_fingerprint(line)
    assert '\n' not in str(failure.value)
