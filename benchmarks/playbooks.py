"""The playbooks' cost, measured on real test hosts in one run.

Run as root from the checkout: ``.venv/bin/python benchmarks/playbooks.py``; prints the Markdown
kept in benchmarks/playbooks.md.

1. From a bare test host to a guest typing in the session: pair.yml, then ssh until tmux.
2. Adding one guest to the set-up host (pair.yml, the guests-only path) against a one-task
   ping play, the same with the whole role (pairing_fast_path=false: what every pair run cost
   before the guests-only path), and the floor: the 2013 recipe by hand over the same kind of
   ssh connection (fetch the keys, append them to the file).
3. Removing a guest whose session is live (unpair.yml), and status.yml.
4. pair.yml re-run (nothing to change), whole role, against as many no-op ping tasks.
5. team.yml on 1, 2 and 4 hosts: how the time grows with hosts (5 forks).
"""

import os
import subprocess
import sys
import tempfile
import time
import urllib.request

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


def by_hand(host, url):
    """The seed's `pair up`: fetch a user's keys, append them to a file, over one ssh connection."""
    started = time.monotonic()
    with urllib.request.urlopen(url) as answer:
        keys = answer.read()
    subprocess.run(host.ssh_command('cat >> /root/hand-authorized_keys'), input=keys, check=True)
    return time.monotonic() - started


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

            pair_yml = os.path.join(ROOT, 'playbooks', 'pair.yml')
            ping = timed_play('- name: Ping\n  hosts: all\n  gather_facts: false\n  tasks:\n'
                              '    - name: Ping\n      ansible.builtin.ping:\n', inventory)[0]
            added, run = timed_play(pair_yml, inventory, target=NAMES[0], pair='bob')
            assert run.changed() == ["pairing.tmux.host : Guests' keys from GitHub, nobody else's"], run.changed()
            rows.append(('add one guest to a set-up host (pair -e pair=bob, guests-only path)', added,
                         'a one-task ping play: %.1f s' % ping, added / ping))
            whole = timed_play(pair_yml, inventory, target=NAMES[0], pair='carol', pairing_fast_path=False)[0]
            rows.append(('the same with the whole role (every pair run before the guests-only path)', whole,
                         'the guests-only path', whole / added))
            hand = by_hand(pairing.host, server.url + '/carol.keys')
            rows.append(("floor: the 2013 recipe by hand over ssh (fetch the keys, append them)", hand,
                         'the guests-only path', added / hand))

            guest = pairing.terminal('bench-bob', 'bob')
            assert guest.wait_for('dev@' + NAMES[0]), guest.screen()
            removed = timed_play(os.path.join(ROOT, 'playbooks', 'unpair.yml'), inventory, target=NAMES[0],
                                 pair='bob')[0]
            assert guest.wait_for('[ssh exited'), guest.screen()
            Terminal.close_all()
            rows.append(('remove one guest, live session ended (unpair -e pair=bob)', removed,
                         'a one-task ping play', removed / ping))
            status = timed_play(os.path.join(ROOT, 'playbooks', 'status.yml'), inventory, target=NAMES[0])[0]
            rows.append(('status', status, 'a one-task ping play', status / ping))

            rerun, run = timed_play(pair_yml, inventory, target=NAMES[0], pair='alice', pairing_fast_path=False)
            assert run.changed() == [], run.changed()
            tasks = len(run.records)
            noop = '- name: No-op\n  hosts: all\n  gather_facts: false\n  tasks:\n' + ''.join(
                '    - name: Ping %d\n      ansible.builtin.ping:\n' % index for index in range(tasks))
            noop_time = timed_play(noop, inventory)[0]
            rows.append(('pair.yml re-run, whole role, %d task results, changed=0' % tasks, rerun,
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
