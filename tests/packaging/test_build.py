"""The collection artifact builds, installs into an empty path, and carries only the collection."""

import json
import os
import subprocess
import sys
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def ansible_galaxy(*args, collections_path=''):
    # Only the given path counts: a copy of the collection elsewhere must not satisfy the install.
    return subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', *args], cwd=ROOT, check=True,
                          capture_output=True, text=True,
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path))


def test_artifact_installs_into_an_empty_path(tmp_path):
    dist, install = tmp_path / 'dist', tmp_path / 'collections'
    ansible_galaxy('build', '--output-path', str(dist))
    (artifact,) = dist.iterdir()
    with tarfile.open(str(artifact)) as tar:
        names = tar.getnames()
    assert 'plugins/module_utils/authorized_keys.py' in names
    development_only = ('.venv', '.build', '.ci', '.git', '.ansible-lint', '.yamllint', 'conftest.py', 'Makefile',
                        'pyproject.toml', 'requirements-dev.txt', 'tools', 'benchmarks')
    leaked = [n for n in names if n.split('/')[0] in development_only
              or '__pycache__' in n or n.startswith('tests/output') or n.endswith('.plugin-cache.yaml')]
    assert leaked == []

    ansible_galaxy('install', '--offline', '-p', str(install), str(artifact), collections_path=str(install))
    installed = install / 'ansible_collections' / 'pairing' / 'tmux'
    info = json.loads((installed / 'MANIFEST.json').read_text())['collection_info']
    assert (info['namespace'], info['name']) == ('pairing', 'tmux')
    listed = ansible_galaxy('list', 'pairing.tmux', '--format', 'json', collections_path=str(install)).stdout
    listed = json.loads(listed)
    assert listed[str(install / 'ansible_collections')]['pairing.tmux']['version'] == info['version']
    # The installed copy is importable on its own, the way Ansible imports it.
    importer = 'from ansible_collections.pairing.tmux.plugins.module_utils import authorized_keys'
    subprocess.run([sys.executable, '-c', importer], cwd=str(tmp_path), check=True,
                   env=dict(os.environ, PYTHONPATH=str(install)))
