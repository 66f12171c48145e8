"""Run ansible-playbook from a test as a person would, and read back every task's result."""

import json
import os
import subprocess
import sys
import tempfile

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)
# The controller: this venv's ansible-core, or another one's (the newest needs Python >= 3.12).
BIN = os.environ.get('PAIRING_CONTROLLER_BIN') or os.path.dirname(sys.executable)
# The inventory of plays that need no test host (rendering a role's template, its asserts).
LOCALHOST = {'all': {'hosts': {'localhost': {'ansible_connection': 'local',
                                             'ansible_python_interpreter': '{{ ansible_playbook_python }}'}}}}


def controller_version():
    """ansible-core's version line, e.g. ``ansible-playbook [core 2.21.5]``, and its Python."""
    lines = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '--version'], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    python = next((line.split('=', 1)[1].split('(')[0].strip() for line in lines if 'python version' in line), '?')
    return '%s, python %s' % (lines[0], python)


class Run:
    def __init__(self, process, records):
        self.returncode = process.returncode
        self.output = process.stdout
        self.records = records

    def results(self, task):
        """The named task's results, one per host."""
        return [record for record in self.records if record['task'] == task]

    def result(self, task):
        (record,) = self.results(task)
        return record

    def changed(self):
        return [record['task'] for record in self.records if record['status'] == 'changed']


def run_playbook(playbook, inventory, extra_vars=None, check=False, diff=False, env=None, options=()):
    """``playbook``: a path, or YAML text written to a temporary file.  ``inventory``: a dict."""
    with tempfile.TemporaryDirectory() as work:
        if '\n' in playbook:
            path = os.path.join(work, 'playbook.yml')
            with open(path, 'w') as handle:
                handle.write(playbook)
            playbook = path
        inventory_path = os.path.join(work, 'inventory.json')
        with open(inventory_path, 'w') as handle:
            json.dump(inventory, handle)
        record_path = os.path.join(work, 'records.json')
        command = [os.path.join(BIN, 'ansible-playbook'), '-i', inventory_path, playbook]
        if extra_vars:
            command += ['-e', json.dumps(extra_vars)]
        command += ['--check'] * check + ['--diff'] * diff + list(options)
        environment = dict(os.environ,
                           ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.build', 'collections'),
                           ANSIBLE_CALLBACK_PLUGINS=os.path.join(TESTS, 'callback_plugins'),
                           ANSIBLE_CALLBACKS_ENABLED='recorder',
                           ANSIBLE_NOCOLOR='1',
                           ANSIBLE_PIPELINING='1',
                           ANSIBLE_RETRY_FILES_ENABLED='0',
                           RECORDER_FILE=record_path)
        environment.update(env or {})
        process = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
                                 env=environment)
        records = []
        if os.path.exists(record_path):
            with open(record_path) as handle:
                records = json.load(handle)
        return Run(process, records)


MODULE_PLAY = """
- name: One module on one test host
  hosts: all
  gather_facts: false
  tasks:
    - name: Module
      %s: "{{ module_args }}"
      environment: "{{ module_environment }}"
"""


def run_module(host, module, args, environment=None, **options):
    """One task of ``module`` with ``args`` on a test host: the Run and that task's record."""
    extra_vars = {'module_args': args, 'module_environment': environment or {}}
    run = run_playbook(MODULE_PLAY % module, host.harness.inventory([host.name]), extra_vars, **options)
    return run, run.result('Module')
