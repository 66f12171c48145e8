"""The playbooks' cost, measured on real test hosts in one run.

Run as root from the checkout: ``.venv/bin/python benchmarks/playbooks.py``; prints the Markdown
kept in benchmarks/playbooks.md.

1. From a bare test host to a guest typing in the session: pair.yml, then ssh until tmux.
2. Adding one guest to the set-up host (pair.yml, the guests-only path) against a one-task
   ping play (medians of ROUNDS runs each, in turns, as for removing and status), the same with
   the whole role (pairing_fast_path=false: what every pair run cost before the guests-only
   path), and the floor: the 2013 recipe by hand over the same kind of ssh connection (fetch
   the keys, append them to the file).
3. Removing a guest whose session is live (unpair.yml), and status.yml.
4. pair.yml re-run (nothing to change), whole role, against as many no-op ping tasks.
5. team.yml re-runs on 1, 2 and 4 hosts: how the time grows with hosts (5 forks; medians of
   ROUNDS runs, in turns), and how many of this machine's cores were busy meanwhile: the test
   hosts run on the controller's cores, so runs on more hosts than cores share them.
6. On the local connection: this controller's ansible-core and the collection copied into a
   test host, which pairs itself (pair.yml's default target, localhost): adding a guest,
   removing one and status against a one-task ping play, all timed inside the host. Keys come
   from a server on the host's own loopback.
"""

import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests'))

from ansible_run import BIN, run_playbook  # noqa: E402
from keyserver import KeyServer  # noqa: E402
from pairing_env import GUESTS, Keys, Terminal, make_pairing, prepare_owner, wait_for_listener  # noqa: E402
from testhosts import Harness  # noqa: E402

NAMES = ['bench-ws%d' % index for index in range(1, 5)]
LOCAL = 'bench-local'
ALL = [*NAMES, LOCAL]
# Quick measures are taken this many times, in turns with their baseline: the tables give medians.
ROUNDS = 5
# Where the local connection's controller lives on that host.
LOCAL_CONTROLLER = '/opt/pairing-controller'
PING = '- name: Ping\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: Ping\n      ansible.builtin.ping:\n'
# ansible-core's distributions and everything they and the collection's controller side need,
# as top-level names in site-packages, printed by the controller's own Python.
CLOSURE = """
import importlib.metadata, json, re, sys
todo, names = list(sys.argv[1:]), set()
seen = set()
while todo:
    name = re.split(r'[ ;<>=!~\\[]', todo.pop())[0].lower().replace('_', '-')
    if name in seen:
        continue
    seen.add(name)
    try:
        distribution = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        continue
    names.update(str(path).split('/')[0] for path in distribution.files if not str(path).startswith('..'))
    todo += [requirement for requirement in distribution.requires or () if 'extra ==' not in requirement]
print(json.dumps([sys.version_info[:2], sorted(names)]))
"""
# Runs a command on the host with its output in a file: the seconds it took, then the tasks it
# ran and its recap line (all of its output when it failed).
LOCAL_TIMER = """
import subprocess, sys, time
with open(sys.argv[1], 'w') as log:
    started = time.monotonic()
    code = subprocess.run(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT).returncode
    seconds = time.monotonic() - started
text = open(sys.argv[1]).read()
print('%.3f' % seconds)
print(text if code else '\\n'.join(line for line in text.splitlines() if line.startswith('TASK [') or ' ok=' in line))
sys.exit(code)
"""
DECISION = 'pairing.tmux.host : Decide the path, the guests-only one or the whole role'
WHOLE_ROLE_LAST = 'Remember the tunnel and its settings for the next run'
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


def local_controller(host):
    """This controller's ansible-core (and what it needs) and the collection, copied into ``host``;
    None, or why not: the host's Python must be the controller's, whose compiled parts it loads."""
    python = os.path.join(BIN, 'python')
    version, names = json.loads(subprocess.run([python, '-c', CLOSURE, 'ansible-core', 'requests', 'jinja2'],
                                               capture_output=True, text=True, check=True).stdout)
    on_host = [int(part) for part in host.run("python3 -c 'import sys; print(*sys.version_info[:2])'").stdout.split()]
    if on_host != version:
        return 'the host has Python %d.%d, the controller %d.%d' % (*on_host, *version)
    site = subprocess.run([python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                          capture_output=True, text=True, check=True).stdout.strip()
    target = host.root + LOCAL_CONTROLLER
    for name in names:
        source = os.path.join(site, name)
        if os.path.isdir(source):
            shutil.copytree(source, os.path.join(target, 'site-packages', name), symlinks=True)
        elif os.path.exists(source):
            os.makedirs(os.path.join(target, 'site-packages'), exist_ok=True)
            shutil.copy2(source, os.path.join(target, 'site-packages'))
    collection = os.path.join(target, 'collections', 'ansible_collections', 'pairing', 'tmux')
    for part in ('galaxy.yml', 'meta', 'playbooks', 'plugins', 'roles'):
        copy = shutil.copytree if os.path.isdir(os.path.join(ROOT, part)) else shutil.copy2
        os.makedirs(collection, exist_ok=True)
        copy(os.path.join(ROOT, part), os.path.join(collection, part))
    return None


def local_play(host, playbook, **extra):
    """``playbook`` (a name in playbooks/, or YAML text) run on ``host`` by the copied controller on
    the local connection, against localhost: seconds, timed on the host, and the lines naming its
    tasks and its recap."""
    if '\n' in playbook:
        path = LOCAL_CONTROLLER + '/play.yml'
        with open(host.root + path, 'w') as handle:
            handle.write(playbook)
    else:
        path = LOCAL_CONTROLLER + '/collections/ansible_collections/pairing/tmux/playbooks/' + playbook
    argv = ['env', 'HOME=/root', 'PYTHONPATH=%s/site-packages' % LOCAL_CONTROLLER,
            'ANSIBLE_COLLECTIONS_PATH=%s/collections' % LOCAL_CONTROLLER, 'ANSIBLE_NOCOLOR=1',
            'python3', '-c', LOCAL_TIMER, '/tmp/bench-play.log', 'python3', '-m', 'ansible', 'playbook', path,
            '-e', json.dumps({**BASE, **extra})]
    run = host.run(' '.join(shlex.quote(arg) for arg in argv), check=False, timeout=900)
    if run.returncode != 0:
        raise SystemExit('local run of %s on %s failed: %s' % (playbook, host.name, (run.stdout + run.stderr)[-3000:]))
    seconds, lines = run.stdout.split('\n', 1)
    return float(seconds), lines


def local_rows(host):
    """The local connection's table: the host pairs itself."""
    why_not = local_controller(host)
    if why_not:
        return [('local connection: not measured, %s' % why_not, None, '', None)]
    keys = Keys(tempfile.mkdtemp())
    os.makedirs(host.root + '/opt/pairing-keys')
    for guest in GUESTS[:3]:
        with open(host.root + '/opt/pairing-keys/%s.keys' % guest, 'w') as handle:
            handle.write(keys.public(guest) + '\n')
    host.run('systemd-run --unit=bench-keys python3 -m http.server 8765 --bind 127.0.0.1 --directory /opt/pairing-keys')
    wait_for_listener(host, 8765)
    on_loopback = {'pairing_github_url': 'http://127.0.0.1:8765', 'pairing_allow_http': True}
    setup = local_play(host, 'pair.yml', pair='alice', **on_loopback)[0]
    samples = {'ping': [], 'add': [], 'remove': [], 'status': []}
    for _turn in range(ROUNDS):
        samples['ping'].append(local_play(host, PING.replace('hosts: all', 'hosts: localhost'))[0])
        added, lines = local_play(host, 'pair.yml', pair='bob', **on_loopback)
        # The guests-only path: one change, and not the whole role, whose last task remembers the run.
        assert ' changed=1 ' in lines and WHOLE_ROLE_LAST not in lines, lines
        samples['add'].append(added)
        samples['remove'].append(local_play(host, 'unpair.yml', pair='bob', **on_loopback)[0])
        status, lines = local_play(host, 'status.yml')
        assert ' changed=0 ' in lines, lines
        samples['status'].append(status)
    ping, added, removed, status = (statistics.median(samples[name]) for name in samples)
    whole, lines = local_play(host, 'pair.yml', pair='carol', pairing_fast_path=False, **on_loopback)
    assert WHOLE_ROLE_LAST in lines, lines
    return [('bare test host to set up (pair.yml), local connection', setup, '', None),
            ('add one guest (pair -e pair=bob, guests-only path), local connection', added,
             'a one-task ping play, local: %.1f s' % ping, added / ping),
            ('the same with the whole role, local connection', whole, 'the guests-only path', whole / added),
            ('remove one guest (unpair -e pair=bob), no live session, local connection', removed,
             'a one-task ping play, local', removed / ping),
            ('status, local connection', status, 'a one-task ping play, local', status / ping)]


def busy_seconds():
    """CPU seconds this machine has spent on anything but idling since it booted, the test hosts
    (which share its cores with the controller) included."""
    with open('/proc/stat') as handle:
        ticks = [int(field) for field in handle.readline().split()[1:]]
    idle, iowait = ticks[3], ticks[4]
    return (sum(ticks) - idle - iowait) / os.sysconf('SC_CLK_TCK')


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
            hosts = dict(zip(ALL, harness.up(ALL)))
            pairing = make_pairing(hosts, server, keys, NAMES[0])
            for name in ALL[1:]:
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
            unpair_yml = os.path.join(ROOT, 'playbooks', 'unpair.yml')
            status_yml = os.path.join(ROOT, 'playbooks', 'status.yml')
            # In turns, ROUNDS times: a ping play, adding bob, removing him while he is connected, status.
            samples = {'ping': [], 'add': [], 'remove': [], 'status': []}
            for turn in range(ROUNDS):
                samples['ping'].append(timed_play(PING, inventory)[0])
                added, run = timed_play(pair_yml, inventory, target=NAMES[0], pair='bob')
                assert run.changed() == ["pairing.tmux.host : Guests' keys from GitHub, nobody else's"], run.changed()
                assert run.result(DECISION)['result']['ansible_facts']['__pairing_fast'], 'not the guests-only path'
                samples['add'].append(added)
                guest = pairing.terminal('bench-bob-%d' % turn, 'bob')
                assert guest.wait_for('dev@' + NAMES[0]), guest.screen()
                samples['remove'].append(timed_play(unpair_yml, inventory, target=NAMES[0], pair='bob')[0])
                assert guest.wait_for('[ssh exited'), guest.screen()
                Terminal.close_all()
                samples['status'].append(timed_play(status_yml, inventory, target=NAMES[0])[0])
            ping, added, removed, status = (statistics.median(samples[name]) for name in samples)
            rows.append(('add one guest to a set-up host (pair -e pair=bob, guests-only path)', added,
                         'a one-task ping play: %.1f s' % ping, added / ping))
            whole = timed_play(pair_yml, inventory, target=NAMES[0], pair='carol', pairing_fast_path=False)[0]
            rows.append(('the same with the whole role (every pair run before the guests-only path)', whole,
                         'the guests-only path', whole / added))
            hand = by_hand(pairing.host, server.url + '/carol.keys')
            rows.append(("floor: the 2013 recipe by hand over ssh (fetch the keys, append them)", hand,
                         'the guests-only path', added / hand))
            rows.append(('remove one guest, live session ended (unpair -e pair=bob)', removed,
                         'a one-task ping play', removed / ping))
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
            counts = (1, 2, 4)
            timed_play(team, team_inventory(harness, NAMES))  # converge all four first: re-runs from here
            team_samples = {count: [] for count in counts}
            busy = {count: [] for count in counts}
            for _turn in range(ROUNDS):
                for count in counts:
                    before = busy_seconds()
                    seconds = timed_play(team, team_inventory(harness, NAMES[:count]))[0]
                    team_samples[count].append(seconds)
                    busy[count].append((busy_seconds() - before) / seconds)
            one = statistics.median(team_samples[1])
            for count in counts:
                seconds = statistics.median(team_samples[count])
                rows.append(('team.yml re-run on %d host%s, %.1f of this machine\'s %d cores busy' % (
                    count, 's' if count > 1 else '', statistics.median(busy[count]), os.cpu_count()), seconds,
                    'team.yml on 1 host', seconds / one))
            rows.append(('bare test host to a guest typing in the session (pair.yml + ssh)', bare_to_guest, '', None))
            local = local_rows(hosts[LOCAL])
        finally:
            harness.down(ALL)

    for title, table in (('Over ssh, from this machine to the test hosts:', rows),
                         ('On the local connection, inside one test host:', local)):
        print(title + '\n\n| measure | seconds | against | ratio |\n|---|---|---|---|')
        for label, seconds, against, ratio in table:
            shown = ('%.1f' % seconds if seconds else '-', against or '-', '%.2f' % ratio if ratio else '-')
            print('| %s | %s | %s | %s |' % (label, *shown))
        print()
    return 0


if __name__ == '__main__':
    sys.exit(main())
