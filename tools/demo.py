"""make demo: the whole story on throwaway machines, with no account anywhere.

Boots two Debian test hosts (a pairing host and a relay), serves a guest's key the way GitHub
would (a local HTTP server: GitHub is unreachable from here), pairs that guest with the real
roles, connects the guest with a real ssh client through the relay, shows the screen the
guest sees, and tears everything down.
"""

import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests'))

from keyserver import KeyServer  # noqa: E402
from pairing_env import Keys, Terminal, make_pairing, wait_for_listener  # noqa: E402
from testhosts import Harness, HarnessError  # noqa: E402

HOST, RELAY, PORT = 'demo-pair', 'demo-relay', 2222
STARTED = time.monotonic()


def say(text):
    print('[%5.1fs] %s' % (time.monotonic() - STARTED, text), flush=True)


def main():
    if os.geteuid() != 0:
        print('make demo boots test hosts (systemd-nspawn, network namespaces): run it as root, e.g. sudo make demo',
              file=sys.stderr)
        return 2
    harness = Harness()
    try:
        say('booting two Debian test hosts: %s (the pairing host) and %s (the relay)' % (HOST, RELAY))
        hosts = dict(zip((HOST, RELAY), harness.up([HOST, RELAY])))
        with tempfile.TemporaryDirectory() as work, KeyServer() as server:
            keys = Keys(work)
            server.publish('alice', [keys.public('alice')])
            say('serving the guest alice\'s key at %s/alice.keys, as GitHub would' % server.url)
            pairing = make_pairing(hosts, server, keys, HOST, relay=RELAY, pairing_tunnel='ssh',
                                   pairing_relay_host=hosts[RELAY].address, pairing_relay_port=PORT,
                                   pairing_guests=['alice'], pairing_read_only_guests=[])
            say('running the roles pairing.tmux.host (tunnel: ssh) and pairing.tmux.relay')
            run = pairing.converge(relay=True)
            if run.returncode != 0:
                print(run.output[-3000:])
                return 1
            for line in run.result('pairing.tmux.host : Guests\' keys from GitHub, nobody else\'s')['result'][
                    'users']['alice']['added']:
                say('alice\'s key is in: %s' % line)
            wait_for_listener(hosts[RELAY], PORT)
            command = 'ssh -t -p %d tmux@%s' % (PORT, hosts[RELAY].address)
            say('the tunnel is up; alice runs: %s' % command)
            guest = pairing.terminal('demo-alice', 'alice', address=hosts[RELAY].address, port=PORT)
            try:
                if not guest.wait_for('dev@%s' % HOST, timeout=30):
                    print(guest.screen())
                    return 1
                guest.type('echo "hello from alice, through the relay"')
                time.sleep(0.5)
                say('alice\'s terminal (blank rows left out):')
                # Blank rows left out, the status line's clock and host name squeezed in.
                screen = [' '.join(line.split()) for line in guest.screen().splitlines() if line.strip()]
                width = max(len(line) for line in screen)
                print('  +' + '-' * (width + 2) + '+')
                for line in screen:
                    print('  | %s |' % line.ljust(width))
                print('  +' + '-' * (width + 2) + '+')
                escape = pairing.ssh('alice', command=['id'], address=hosts[RELAY].address, port=PORT)
                say('and `%s id` gets her: %s' % (command.replace(' -t', ''), escape.stderr.strip().splitlines()[0]))
            finally:
                Terminal.close_all()
    except HarnessError as error:
        print('demo: %s' % error, file=sys.stderr)
        return 1
    finally:
        say('tearing down')
        harness.down([HOST, RELAY])
    say('done: nothing is left (%s)' % harness.leftovers([HOST, RELAY]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
