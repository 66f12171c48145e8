"""github_authorized_keys against ansible.posix.authorized_key, measured in one run.

Run from the checkout: ``make benchmark-keys`` (it fetches ansible.posix from the ``ansible``
package on PyPI into .build/, as a baseline only).  Prints the Markdown kept in
benchmarks/keys.md.  Keys are served by a local HTTP server that answers like GitHub (GitHub
is unreachable here), and every request it gets is counted.

1. HTTP requests for 10 hosts x 20 users: this collection fetches once per user per run on
   the controller; authorized_key with ``key: {url}/{user}.keys`` fetches on every host.
2. Wall time to converge 500 keys (50 users x 10 keys) into one empty file: one task of this
   module against authorized_key looping over the 500 key lines given inline, and against the
   fair baseline, one authorized_key task given all 500 lines in one ``key:`` string.
3. The same two, run again on the converged file (nothing to change).
"""

import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests'))

from ansible_run import run_playbook  # noqa: E402
from keyserver import KeyServer  # noqa: E402

BASELINE = os.path.join(ROOT, '.build', 'benchmarks', 'collections')
HOSTS, USERS = 10, 20
BIG_USERS, KEYS_EACH = 50, 10

OURS = """
- name: Ours
  hosts: all
  gather_facts: false
  tasks:
    - name: Keys
      pairing.tmux.github_authorized_keys:
        guests: "{{ users }}"
        path: "{{ keys_dir }}/{{ inventory_hostname }}"
        github_url: "{{ url }}"
        allow_http: true
"""
# The baseline: authorized_key, one task per item (%(loop)s a loop line) or one task in all;
# %(key)s and the loop's items are Jinja expressions.
POSIX = """
- name: Baseline
  hosts: all
  gather_facts: false
  tasks:
    - name: Keys
      ansible.posix.authorized_key:
        user: root
        path: "{{ keys_dir }}/{{ inventory_hostname }}"
        manage_dir: false
        key: "{{ %(key)s }}"
%(loop)s"""
POSIX_URL = POSIX % {'key': "url ~ '/' ~ item ~ '.keys'", 'loop': '      loop: "{{ users }}"\n'}
POSIX_LOOP = POSIX % {'key': 'item', 'loop': '      loop: "{{ key_lines }}"\n'}
# The fair baseline: one authorized_key task, all the key lines in one newline-separated string
# (exclusive is false by default: the other lines stay).
POSIX_ONE = POSIX % {'key': 'key_text', 'loop': ''}


def make_keys(count, directory):
    lines = []
    for index in range(count):
        path = os.path.join(directory, 'k%d' % index)
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', path], check=True)
        with open(path + '.pub') as handle:
            lines.append(' '.join(handle.read().split()[:2]))
    return lines


def inventory(count):
    return {'all': {'hosts': {'bench-%02d' % index: {'ansible_connection': 'local',
                                                     'ansible_python_interpreter': sys.executable}
                              for index in range(count)}}}


def play(playbook, hosts, **extra):
    started = time.monotonic()
    run = run_playbook(playbook, inventory(hosts), extra, env={'ANSIBLE_COLLECTIONS_PATH': '%s:%s' % (
        os.path.join(ROOT, '.build', 'collections'), BASELINE), 'ANSIBLE_FORKS': '5'})
    elapsed = time.monotonic() - started
    failed = [record for record in run.records if record['status'] == 'failed']
    if run.returncode != 0 or failed:
        raise SystemExit('benchmark play failed:\n%s' % run.output[-3000:])
    return elapsed, run


def main():
    if not os.path.isdir(os.path.join(BASELINE, 'ansible_collections', 'ansible', 'posix')):
        raise SystemExit('ansible.posix is missing from %s: run make benchmark-keys' % BASELINE)
    with tempfile.TemporaryDirectory() as work, KeyServer() as server:
        keys = make_keys(BIG_USERS * KEYS_EACH, work)
        users = ['user%02d' % index for index in range(BIG_USERS)]
        for index, user in enumerate(users):
            server.publish(user, keys[index * KEYS_EACH:(index + 1) * KEYS_EACH])

        def fresh_dir(name):
            path = os.path.join(work, name)
            os.makedirs(path)
            return path

        common = {'url': server.url, 'users': users[:USERS]}
        server.requests.clear()
        play(OURS, HOSTS, keys_dir=fresh_dir('ours-hosts'), **common)
        ours_requests = server.total()
        server.requests.clear()
        play(POSIX_URL, HOSTS, keys_dir=fresh_dir('posix-hosts'), **common)
        posix_requests = server.total()

        ours_dir, posix_dir, one_dir = fresh_dir('ours-500'), fresh_dir('posix-500'), fresh_dir('one-500')
        key_text = '\n'.join(keys)
        ours_first = play(OURS, 1, keys_dir=ours_dir, url=server.url, users=users)[0]
        posix_first = play(POSIX_LOOP, 1, keys_dir=posix_dir, key_lines=keys)[0]
        one_first = play(POSIX_ONE, 1, keys_dir=one_dir, key_text=key_text)[0]
        ours_again, run = play(OURS, 1, keys_dir=ours_dir, url=server.url, users=users)
        assert run.changed() == [], 'our re-run changed something'
        posix_again, run = play(POSIX_LOOP, 1, keys_dir=posix_dir, key_lines=keys)
        assert run.changed() == [], 'the baseline re-run changed something'
        one_again, run = play(POSIX_ONE, 1, keys_dir=one_dir, key_text=key_text)
        assert run.changed() == [], 'the one-string baseline re-run changed something'
        counts = []
        for directory in (ours_dir, posix_dir, one_dir):
            with open(os.path.join(directory, 'bench-00')) as handle:
                written = handle.read().splitlines()
            counts.append(len(written))
            # Ours writes options and a comment around the key; compare the type and base64 only.
            fields = [line.split() for line in written]
            found = [' '.join(field[field.index('ssh-ed25519'):][:2]) for field in fields]
            assert sorted(found) == sorted(keys), directory
        assert counts == [len(keys)] * 3, counts

    print('| measure | pairing.tmux | authorized_key, loop per key | loop / ours '
          '| authorized_key, one `key:` string | one string / ours |')
    print('|---|---|---|---|---|---|')
    print('| HTTP requests, %d hosts x %d users | %d | %d | %.1fx | - | - |' % (
        HOSTS, USERS, ours_requests, posix_requests, posix_requests / ours_requests))
    print('| converge %d keys into an empty file | %.2f s | %.2f s | %.1fx | %.2f s | %.1fx |' % (
        len(keys), ours_first, posix_first, posix_first / ours_first, one_first, one_first / ours_first))
    print('| re-run, nothing to change | %.2f s | %.2f s | %.1fx | %.2f s | %.1fx |' % (
        ours_again, posix_again, posix_again / ours_again, one_again, one_again / ours_again))
    return 0


if __name__ == '__main__':
    sys.exit(main())
