"""testhosts CLI: up, down, ssh, reboot, list, inventory."""

import argparse
import json
import os
import sys

import yaml

from .errors import HarnessError
from .hosts import Harness


def main(argv=None):
    parser = argparse.ArgumentParser(prog='testhosts', description=__doc__)
    commands = parser.add_subparsers(dest='command', required=True)
    up = commands.add_parser('up', help='boot hosts (kept if running) and wait for ssh')
    up.add_argument('names', nargs='+')
    up.add_argument('--json', action='store_true', help="print molecule's instance config (a JSON list)")
    down = commands.add_parser('down', help='stop and remove hosts')
    down.add_argument('names', nargs='*')
    down.add_argument('--all', action='store_true', help='every host, and whatever a killed run left behind')
    ssh = commands.add_parser('ssh', help='ssh to a host as root (a shell, or CMD)')
    ssh.add_argument('name')
    ssh.add_argument('cmd', nargs=argparse.REMAINDER)
    reboot = commands.add_parser('reboot', help='reboot a host and wait until it answers again')
    reboot.add_argument('name')
    commands.add_parser('list', help='hosts, addresses, running or not')
    inventory = commands.add_parser('inventory', help='Ansible inventory of the running hosts (YAML)')
    inventory.add_argument('names', nargs='*')
    inventory.add_argument('--json', action='store_true')
    args = parser.parse_args(argv)

    harness = Harness()
    try:
        if args.command == 'up':
            hosts = harness.up(args.names)
            if args.json:
                print(json.dumps([{'instance': host.name, 'address': host.address, 'user': 'root', 'port': 22,
                                   'identity_file': harness.key} for host in hosts], indent=2))
            else:
                for host in hosts:
                    print('%s %s' % (host.name, host.address))
        elif args.command == 'down':
            if args.all:
                harness.down_all()
            elif args.names:
                harness.down(args.names)
            else:
                parser.error('down: name hosts, or --all')
        elif args.command == 'ssh':
            command = harness.get(args.name).ssh_command(*args.cmd, tty=not args.cmd and sys.stdin.isatty())
            os.execvp(command[0], command)
        elif args.command == 'reboot':
            harness.get(args.name).reboot()
        elif args.command == 'list':
            for name, host in harness.hosts().items():
                print('%s %s %s' % (name, host.address, 'running' if host.alive() else 'dead'))
        elif args.command == 'inventory':
            data = harness.inventory(args.names or None)
            print(json.dumps(data, indent=2) if args.json else yaml.safe_dump(data, default_flow_style=False), end='')
    except HarnessError as error:
        print('testhosts: %s' % error, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
