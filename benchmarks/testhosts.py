"""Test-host harness timings: cold rootfs build, boot-to-ssh, parallel boot, reboot, clean teardown.

Run as root from the checkout: ``.venv/bin/python benchmarks/testhosts.py [--cold]``.
Prints a Markdown report (the figures in benchmarks/testhosts.md come from it).  --cold
also times a debootstrap into a throwaway cache (about a minute, and the mirror's bandwidth).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tests'))

from testhosts import Harness
from testhosts.rootfs import RootFS

TARGETS = {'boot': 15.0, 'parallel': 30.0}


def timed(action):
    started = time.monotonic()
    action()
    return time.monotonic() - started


def shell(command):
    return subprocess.run(command, shell=True, capture_output=True, text=True, check=False).stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--cold', action='store_true', help='also time a cold rootfs build')
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()

    harness = Harness()
    rows = []
    if args.cold:
        with tempfile.TemporaryDirectory(dir=os.path.dirname(harness.cache_dir)) as cache:
            rows.append(('cold rootfs build (debootstrap + configure)', timed(RootFS(cache).ensure), None))
    RootFS(harness.cache_dir).ensure()

    boots, reboots = [], []
    for round_ in range(args.rounds):
        name = 'bench-%d' % round_
        boots.append(timed(lambda name=name: harness.up([name])))
        reboots.append(timed(harness.get(name).reboot))
        harness.down([name])
    names = ['bench-a', 'bench-b', 'bench-c']
    parallel = timed(lambda: harness.up(names))
    harness.down(names)
    one = statistics.median(boots)
    rows += [
        ('boot to ssh, one host (median of %d)' % args.rounds, one, TARGETS['boot']),
        ('three hosts up in parallel', parallel, TARGETS['parallel']),
        ('reboot to ssh (median of %d)' % args.rounds, statistics.median(reboots), None),
    ]

    print('| measure | seconds | target | ratio to target |')
    print('|---|---|---|---|')
    for label, seconds, target in rows:
        against = ('<= %.0f s' % target, '%.3f' % (seconds / target)) if target else ('-', '-')
        print('| %s | %.2f | %s | %s |' % (label, seconds, *against))
    print('\nThree in parallel against one alone, same run: %.2fx' % (parallel / one))
    leftovers = harness.leftovers()
    print('\nAfter down (harness.leftovers()): %s' % leftovers)
    print('\n```\n$ ip netns list\n%s\n$ ip -br link | grep pth\n%s\n$ grep pairing-testhosts /proc/mounts\n%s\n'
          '$ pgrep -af systemd-nspawn\n%s\n```' % (
              shell('ip netns list'), shell('ip -br link | grep pth'),
              shell('grep pairing-testhosts /proc/mounts'), shell('pgrep -af systemd-nspawn')))
    return 0 if leftovers == {'processes': [], 'mounts': [], 'netns': [], 'links': []} else 1


if __name__ == '__main__':
    sys.exit(main())
