"""The playbooks' cost, measured on real test hosts in one run.

Run as root from the checkout: ``.venv/bin/python benchmarks/playbooks.py``; prints the Markdown
kept in benchmarks/playbooks.md.

1. pair.yml re-run (nothing to change) against a play of as many no-op tasks
   (ansible.builtin.ping, one round trip to the host each) on the same host.
2. team.yml on 1, 2 and 4 hosts: how the time grows with hosts (5 forks).
3. From a bare test host to a guest typing in the session: pair.yml, then ssh until tmux.
"""

import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests'))

from ansible_run import run_playbook  # noqa: E402
from keyserver import KeyServer  # noqa: E402
from pairing_env import GUESTS, Keys, Terminal, make_pairing, prepare_owner  # noqa: E402
from testhosts import Harness  # noqa: E402

NAMES = ['bench-ws%d' % index for index in range(1, 5)]
BASE = {'pairing_owner': 'dev', 'pairing_sshd_settings': {'PermitRootLogin': 'prohibit-password'}}


def timed_play(playbook, inventory, **extra):
    started = time.monotonic()
    run = run_playbook(playbook, inventory, {**BASE, **extra}, env={'HOME': tempfile.gettempdir()})
    elapsed = time.monotonic() - started
    if run.returncode != 0:
        raise SystemExit(run.output[-3000:])
    return elapsed, run


def team_inventory(harness, names):
    inventory = harness.inventory(names)
    inventory['all']['children'] = {'pairing_workstations': {
        'hosts': {name: dict(inventory['all']['hosts'][name], pairing_owner_github='alice') for name in names},
        'vars': {'pairing_team': ['alice', 'bob', 'carol']}}}
    return inventory


def main():
    harness = Harness()
    rows = []
    with tempfile.TemporaryDirectory() as work, KeyServer() as server:
        keys = Keys(work)
        for guest in GUESTS[:3]:
            server.publish(guest, [keys.public(guest)])
        BASE['pairing_github_url'] = server.url
        BASE['pairing_allow_http'] = True
        try:
            hosts = dict(zip(NAMES, harness.up(NAMES)))
            pairing = make_pairing(hosts, server, keys, NAMES[0])
            for name in NAMES[1:]:
                with open(harness.key + '.pub') as handle:
                    prepare_owner(hosts[name], handle.read())
            inventory = harness.inventory(NAMES[:1])

            started = time.monotonic()
            timed_play(os.path.join(ROOT, 'playbooks', 'pair.yml'), inventory, target=NAMES[0], pair='alice')
            guest = pairing.terminal('bench-guest', 'alice')
            assert guest.wait_for('dev@' + NAMES[0]), guest.screen()
            guest.type('echo bench-typed')
            assert pairing.pane_shows('bench-typed'), pairing.pane()
            bare_to_guest = time.monotonic() - started
            Terminal.close_all()

            rerun, run = timed_play(os.path.join(ROOT, 'playbooks', 'pair.yml'), inventory, target=NAMES[0],
                                    pair='alice')
            assert run.changed() == [], run.changed()
            tasks = len(run.records)
            noop = '- name: No-op\n  hosts: all\n  gather_facts: false\n  tasks:\n' + ''.join(
                '    - name: Ping %d\n      ansible.builtin.ping:\n' % index for index in range(tasks))
            noop_time = timed_play(noop, inventory)[0]
            rows.append(('pair.yml re-run, %d task results, changed=0' % tasks, rerun,
                         '%d ping tasks: %.1f s' % (tasks, noop_time), rerun / noop_time))

            team = os.path.join(ROOT, 'playbooks', 'team.yml')
            one = None
            for count in (1, 2, 4):
                harness_inventory = team_inventory(harness, NAMES[:count])
                timed_play(team, harness_inventory)  # converge first; measure the steady state too
                seconds = timed_play(team, harness_inventory)[0]
                one = one or seconds
                rows.append(('team.yml re-run on %d host%s' % (count, 's' if count > 1 else ''), seconds,
                             'team.yml on 1 host', seconds / one))
            rows.append(('bare test host to a guest typing in the session (pair.yml + ssh)', bare_to_guest, '', None))
        finally:
            harness.down(NAMES)

    print('| measure | seconds | against | ratio |')
    print('|---|---|---|---|')
    for label, seconds, against, ratio in rows:
        print('| %s | %.1f | %s | %s |' % (label, seconds, against or '-', '%.2f' % ratio if ratio else '-'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
