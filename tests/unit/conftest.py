"""Keys for unit tests, made by the real ssh-keygen during the run."""

import subprocess

import pytest


@pytest.fixture(scope='session')
def ed25519_lines(tmp_path_factory):
    """Ten distinct ``ssh-ed25519 AAAA... comment`` public key lines."""
    directory = tmp_path_factory.mktemp('ed25519')
    lines = []
    for index in range(10):
        path = directory / ('key%d' % index)
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'laptop-%d' % index, '-f', str(path)],
                       check=True)
        lines.append((directory / ('key%d.pub' % index)).read_text().strip())
    return lines
