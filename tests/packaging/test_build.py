"""The collection artifact builds, installs into an empty path, and carries only the collection.

Then it installs the way a user installs it, on a controller that has nothing else: a fresh venv
holding ansible-core and the lowest versions requirements.txt allows, where its modules' docs
render, its playbooks parse and its keys module fetches keys and writes them. And the files an
execution environment is built from (meta/execution-environment.yml, bindep.txt) give what
ansible-builder's build would install.
"""

import json
import os
import re
import subprocess
import sys
import tarfile

import pytest
from ansible_run import BIN as CONTROLLER_BIN
from keyserver import KeyServer
from packaging.version import Version

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
# What a build context must carry for ansible-builder, and the checkout's own pins it must not.
FOR_THE_CONTROLLER = ('requirements.txt', 'bindep.txt', 'meta/execution-environment.yml')


def ansible_galaxy(*args, collections_path=''):
    # Only the given path counts: a copy of the collection elsewhere must not satisfy the install.
    return subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', *args], cwd=ROOT, check=True,
                          capture_output=True, text=True,
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path))


@pytest.fixture(scope='session')
def artifact(tmp_path_factory):
    dist = tmp_path_factory.mktemp('dist')
    ansible_galaxy('build', '--output-path', str(dist))
    (built,) = dist.iterdir()
    return built


def test_artifact_installs_into_an_empty_path(tmp_path, artifact):
    install = tmp_path / 'collections'
    with tarfile.open(str(artifact)) as tar:
        names = tar.getnames()
    assert 'plugins/module_utils/authorized_keys.py' in names
    assert [name for name in FOR_THE_CONTROLLER if name not in names] == []
    development_only = ('.venv', '.build', '.ci', '.git', '.ansible-lint', '.yamllint', 'conftest.py', 'Makefile',
                        'pyproject.toml', 'requirements-dev.txt', 'requirements-controller.txt', 'tools',
                        'benchmarks')
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


def requirement_lines(name):
    with open(os.path.join(ROOT, name)) as handle:
        return [line.strip() for line in handle if line.strip() and not line.startswith(('#', '-r'))]


def lowest_allowed():
    """requirements.txt's lower bounds as exact pins: ``requests>=2.30`` -> ``requests==2.30``."""
    lines = requirement_lines('requirements.txt')
    pins = [re.sub(r'^([A-Za-z0-9_.-]+)\s*>=\s*([^,;\s]+)$', r'\1==\2', line) for line in lines]
    assert all('==' in pin for pin in pins), lines  # every requirement has a lower bound, and only that
    return pins


class Controller:
    """A controller with nothing but ansible-core, requests and their dependencies, and the
    collection installed from the artifact into a path of its own, the only one Ansible sees."""

    def __init__(self, work):
        self.work, self.bin = work, work / 'venv' / 'bin'
        self.collections = work / 'collections'
        self.installed = self.collections / 'ansible_collections' / 'pairing' / 'tmux'
        # Nothing from the checkout or the test session: no ansible.cfg (cwd is the work
        # directory), no ANSIBLE_* settings, no ~/.ansible.
        self.env = {name: value for name, value in os.environ.items()
                    if not name.startswith(('ANSIBLE_', 'PYTHON', 'VIRTUAL_ENV', 'PAIRING_'))}
        self.env.update(PATH='%s:%s' % (self.bin, os.environ['PATH']), ANSIBLE_HOME=str(work / 'ansible-home'),
                        ANSIBLE_COLLECTIONS_PATH=str(self.collections), ANSIBLE_NOCOLOR='1')

    def run(self, *command):
        # Not check=True: a failure shows what the command printed.
        process = subprocess.run([str(self.bin / command[0]), *command[1:]], cwd=str(self.work), env=self.env,
                                 capture_output=True, text=True, check=False)
        assert process.returncode == 0, process.stdout + process.stderr
        return process


@pytest.fixture(scope='session')
def clean_controller(tmp_path_factory, artifact):
    """One per test session, on the Python of the controller the session drives (PAIRING_CONTROLLER_BIN):
    ansible-core as CI pins it for that Python, requests and urllib3 at the lowest versions
    requirements.txt allows (the newest are what .venv runs every other test with)."""
    work = tmp_path_factory.mktemp('clean-controller')
    subprocess.run([os.path.join(CONTROLLER_BIN, 'python'), '-m', 'venv', str(work / 'venv')], check=True)
    constraints = work / 'constraints.txt'
    constraints.write_text(''.join(line + '\n' for line in requirement_lines('requirements-controller.txt')
                                   if line.startswith('ansible-core')))
    controller = Controller(work)
    controller.run('python', '-m', 'pip', 'install', '--quiet', '-c', str(constraints), 'ansible-core',
                   *lowest_allowed())
    # As the README says: ansible-galaxy collection install pairing-tmux-X.Y.Z.tar.gz
    controller.run('ansible-galaxy', 'collection', 'install', '-p', str(controller.collections), str(artifact))
    return controller


def test_the_clean_controller_holds_only_ansible_core_and_what_requirements_txt_names(clean_controller):
    frozen = clean_controller.run('python', '-m', 'pip', 'freeze').stdout.lower().split()
    versions = dict(line.split('==') for line in frozen)
    for pin in lowest_allowed():
        name, version = pin.lower().split('==')
        assert Version(versions.pop(name)) == Version(version)
    core = versions.pop('ansible-core')
    pinned = clean_controller.run('python', '-c', 'import ansible.release; print(ansible.release.__version__)')
    assert core == pinned.stdout.strip()
    # The rest is what ansible-core and requests pull in: no other collections, no test tools.
    assert not {'ansible', 'pytest', 'ansible-lint', 'molecule', 'ansible-builder'} & set(versions)
    # Collections Ansible sees, but ansible-core's own (ansible._protomatter, inside the venv): ours alone.
    listed = json.loads(clean_controller.run('ansible-galaxy', 'collection', 'list', '--format', 'json').stdout)
    version = json.loads((clean_controller.installed / 'MANIFEST.json').read_text())['collection_info']['version']
    assert {path: found for path, found in listed.items() if not path.startswith(str(clean_controller.bin.parent))} \
        == {str(clean_controller.collections / 'ansible_collections'): {'pairing.tmux': {'version': version}}}


def test_the_installed_collection_documents_its_plugins_and_roles(clean_controller):
    modules = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, 'plugins', 'modules'))
                     if name.endswith('.py'))
    listed = json.loads(clean_controller.run('ansible-doc', '--json', '-t', 'module', '-l', 'pairing.tmux').stdout)
    assert sorted(listed) == ['pairing.tmux.' + name for name in modules]
    for name in modules:
        page = clean_controller.run('ansible-doc', 'pairing.tmux.' + name).stdout
        assert '> MODULE pairing.tmux.%s (%s/' % (name, clean_controller.installed) in page
    keys = clean_controller.run('ansible-doc', 'pairing.tmux.github_authorized_keys').stdout
    assert 'allow_http' in keys and 'EXAMPLES' in keys
    for kind in ('filter', 'lookup', 'callback', 'role'):
        assert json.loads(clean_controller.run('ansible-doc', '--json', '-t', kind, '-l', 'pairing.tmux').stdout)
    role = clean_controller.run('ansible-doc', '-t', 'role', 'pairing.tmux.host').stdout
    assert 'pairing_guests' in role


@pytest.mark.parametrize('playbook', ['pair', 'status', 'unpair', 'team'])
def test_the_installed_playbooks_pass_a_syntax_check(clean_controller, playbook):
    run = clean_controller.run('ansible-playbook', '--syntax-check', 'pairing.tmux.' + playbook, '-e', 'pair=alice')
    path = clean_controller.installed / 'playbooks' / (playbook + '.yml')
    assert run.stdout.split() == ['playbook:', str(path)]


def test_the_installed_keys_module_fetches_and_writes_keys(clean_controller, ed25519_lines, tmp_path):
    # The action plugin (requests, on the controller) and the module (on localhost) of the
    # installed copy, against a local server that answers like GitHub.
    keys_file = tmp_path / 'authorized_keys'
    play = tmp_path / 'keys.yml'
    play.write_text(
        '- hosts: localhost\n'
        '  gather_facts: false\n'
        '  tasks:\n'
        '    - pairing.tmux.github_authorized_keys:\n'
        '        users: [Alice]\n'
        '        path: %s\n'
        '        github_url: "{{ key_server }}"\n'
        '        allow_http: true\n' % keys_file)
    with KeyServer() as server:
        server.publish('alice', ed25519_lines[:2])
        first = clean_controller.run('ansible-playbook', str(play), '-e', 'key_server=' + server.url)
        second = clean_controller.run('ansible-playbook', str(play), '-e', 'key_server=' + server.url)
    assert re.search(r'localhost\s*: ok=1\s+changed=1\s+unreachable=0\s+failed=0', first.stdout), first.stdout
    assert re.search(r'localhost\s*: ok=1\s+changed=0\s+unreachable=0\s+failed=0', second.stdout), second.stdout
    assert keys_file.read_text() == ''.join(
        'restrict,pty,command="tmux attach -t pairing" %s pairing.tmux:github:alice\n' % ' '.join(line.split()[:2])
        for line in ed25519_lines[:2])


def test_an_execution_environment_gets_the_controller_requirements(artifact, tmp_path):
    """ansible-builder create writes the build context for an EE that installs the artifact; its
    galaxy stage then installs the collection, and its builder stage introspects it: both are run
    here as the Containerfile runs them (no container: the context's own script, on this Python)."""
    definition = tmp_path / 'execution-environment.yml'
    definition.write_text(
        '---\n'
        'version: 3\n'
        'images:\n'
        '  base_image:\n'
        '    name: localhost/ee-base:latest\n'
        'dependencies:\n'
        '  ansible_core:\n'
        '    package_pip: ansible-core\n'
        '  ansible_runner:\n'
        '    package_pip: ansible-runner\n'
        '  galaxy:\n'
        '    collections:\n'
        '      - name: collections/%s\n'
        '        type: file\n'
        'additional_build_files:\n'
        '  - src: %s\n'
        '    dest: collections\n' % (artifact.name, artifact))
    context = tmp_path / 'context'
    subprocess.run([os.path.join(BIN, 'ansible-builder'), 'create', '--file', str(definition),
                    '--context', str(context)], cwd=str(tmp_path), check=True, capture_output=True)
    build = context / '_build'
    containerfile = (context / 'Dockerfile').read_text()
    assert 'ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml' in containerfile
    assert 'introspect.py introspect --write-bindep=/tmp/src/bindep.txt --write-pip=/tmp/src/requirements.txt' \
        in containerfile

    collections = tmp_path / 'ee' / 'collections'
    subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '-r', 'requirements.yml',
                    '--collections-path', str(collections)], cwd=str(build), check=True, capture_output=True,
                   env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections)))
    pip, bindep = tmp_path / 'ee' / 'requirements.txt', tmp_path / 'ee' / 'bindep.txt'
    subprocess.run([sys.executable, str(build / 'scripts' / 'introspect.py'), 'introspect',
                    '--write-pip', str(pip), '--write-bindep', str(bindep), str(collections)], check=True,
                   capture_output=True)
    assert pip.read_text().splitlines() == ['%s  # from collection pairing.tmux' % line
                                            for line in requirement_lines('requirements.txt')]
    assert bindep.read_text().splitlines() == ['openssh-client [platform:dpkg]  # from collection pairing.tmux',
                                               'openssh-clients [platform:rpm]  # from collection pairing.tmux']
    # bindep reads it: on this Debian machine, the dpkg line.
    listed = subprocess.run([os.path.join(BIN, 'bindep'), '--file', str(bindep), '--list_all', 'newline'],
                            check=True, capture_output=True, text=True).stdout.split()
    assert listed == ['openssh-client']
