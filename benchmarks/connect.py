"""Guest connect time, converge time and re-run time of the host role, on real test hosts.

Run as root from the checkout: ``.venv/bin/python benchmarks/connect.py``. Prints the Markdown
kept in benchmarks/connect.md. Connect time is from starting ``ssh -tt`` to the first tmux
screen (tmux's status line on the guest's terminal), against ``ssh root@host true`` on the
same host in the same run; both use a fresh connection each time (no multiplexing).
"""

import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests'))

from keyserver import KeyServer  # noqa: E402
from pairing_env import GUESTS, Keys, make_pairing, ssh_argv  # noqa: E402
from testhosts import Harness  # noqa: E402

ROUNDS = 7


def until_screen(argv, marker=b'[pairing]', timeout=30):
    """Seconds from starting ``argv`` on a terminal until ``marker`` appears on it."""
    master, slave = pty.openpty()
    started = time.monotonic()
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    seen = b''
    try:
        while marker not in seen:
            if time.monotonic() - started > timeout:
                raise SystemExit('no tmux screen within %d s: %r' % (timeout, seen[-300:]))
            ready = select.select([master], [], [], 0.5)[0]
            if ready:
                seen += os.read(master, 65536)
        return time.monotonic() - started
    finally:
        process.kill()
        process.wait()
        os.close(master)


def timed(argv):
    started = time.monotonic()
    subprocess.run(argv, check=True, capture_output=True, stdin=subprocess.DEVNULL)
    return time.monotonic() - started


def main():
    harness = Harness()
    name = 'bench-pair'
    with tempfile.TemporaryDirectory() as work, KeyServer() as server:
        keys = Keys(work)
        for guest in GUESTS[:3]:
            server.publish(guest, [keys.public(guest)])
        try:
            (host,) = harness.up([name])
            pairing = make_pairing({name: host}, server, keys, name)
            started = time.monotonic()
            run = pairing.converge()
            converge = time.monotonic() - started
            if run.returncode != 0:
                raise SystemExit(run.output[-3000:])
            started = time.monotonic()
            run = pairing.converge()
            rerun = time.monotonic() - started
            assert run.changed() == [], run.changed()

            guest = ssh_argv(keys, 'alice', host.address, 22, '-tt')
            root = [*host.ssh_command('true')[:-2], '-o', 'ControlMaster=no', '-o', 'ControlPath=none',
                    host.name, 'true']
            connects, baselines = [], []
            for _round in range(ROUNDS):
                baselines.append(timed(root))
                connects.append(until_screen(guest))
        finally:
            harness.down([name])

    connect, baseline = statistics.median(connects), statistics.median(baselines)
    print('| measure | seconds | against | ratio |')
    print('|---|---|---|---|')
    print('| guest connect, ssh start to first tmux screen (median of %d) | %.3f | `ssh root@host true` %.3f s '
          '| %.2f (target <= 1.5) |' % (ROUNDS, connect, baseline, connect / baseline))
    print('| converge a bare test host (host role, 3 guests) | %.1f | re-run %.1f s | %.2f |' % (
        converge, rerun, converge / rerun))
    print('| idempotent re-run (changed=0) | %.1f | | |' % rerun)
    return 0


if __name__ == '__main__':
    sys.exit(main())
