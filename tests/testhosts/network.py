"""One network namespace per test host, joined to the box by a bridge on a private /24.

Only these addresses and loopback ever carry the tests' traffic.
"""

import hashlib
import ipaddress
import json
import os
import re
import subprocess

from .errors import HarnessError

# Candidate /24s, tried in order; the first that no route of the box overlaps is used.
CANDIDATES = [ipaddress.ip_network('10.213.%d.0/24' % third) for third in range(16, 64)]


def ip(*args, check=True):
    result = subprocess.run(['ip', *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise HarnessError('ip %s failed: %s' % (' '.join(args), result.stderr.strip()))
    return result


class Network:
    """The bridge, netns and links of one release's hosts: all named with a prefix of three
    letters, ``pt`` + the release's initial (``ptb``, ``ptt``) unless $TESTHOSTS_NETWORK says
    otherwise, so releases (and runs with their own state) never touch each other's.  A digit
    may follow (``ptb0``, ``ptb1``): the lanes of one release's parallel pytest workers."""

    def __init__(self, release):
        self.prefix = os.environ.get('TESTHOSTS_NETWORK') or 'pt' + release[0]
        if not re.fullmatch('[a-z]{3}[0-9]?', self.prefix):
            raise HarnessError('TESTHOSTS_NETWORK=%s: use three letters a-z, optionally and a digit '
                               '(names must fit 15 characters)' % self.prefix)
        self.bridge = self.prefix + 'br0'

    def netns_name(self, host):
        return '%s-%s' % (self.prefix, host)

    def veth_name(self, host):
        """The host-side end of the host's veth pair; named after the host (15 characters at most)
        so that teardown can always delete it, even while a dying netns still holds the other end."""
        return '%sv%s' % (self.prefix, hashlib.sha1(host.encode()).hexdigest()[:10])

    def ensure_bridge(self):
        """The bridge and its subnet; made once, shared by the release's hosts (callers hold the
        lock that makes releases pick their subnets one after the other)."""
        existing = ip('-j', 'addr', 'show', 'dev', self.bridge, check=False)
        if existing.returncode == 0:
            for info in json.loads(existing.stdout)[0].get('addr_info', []):
                if info.get('family') == 'inet':
                    return ipaddress.ip_interface('%s/%s' % (info['local'], info['prefixlen'])).network
        routes = [ipaddress.ip_network(r['dst']) for r in json.loads(ip('-j', 'route', 'show').stdout)
                  if r.get('dst', 'default') != 'default']
        subnet = next((net for net in CANDIDATES if not any(net.overlaps(route) for route in routes)), None)
        if subnet is None:
            raise HarnessError('no free private /24 for test hosts among %s-%s' % (CANDIDATES[0], CANDIDATES[-1]))
        ip('link', 'add', self.bridge, 'type', 'bridge', check=False)
        ip('addr', 'replace', '%s/%d' % (subnet[1], subnet.prefixlen), 'dev', self.bridge)
        ip('link', 'set', self.bridge, 'up')
        return subnet

    def attach(self, host, subnet, taken):
        """A fresh netns for ``host`` with eth0 on the bridge, at an address not in ``taken``."""
        taken = set(taken) | {subnet[0], subnet[1], subnet.broadcast_address}
        address = next((a for a in subnet.hosts() if a not in taken), None)
        if address is None:
            raise HarnessError('test host %s: no free address left in %s' % (host, subnet))
        netns, veth = self.netns_name(host), self.veth_name(host)
        ip('netns', 'add', netns)
        ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns)
        ip('link', 'set', veth, 'master', self.bridge, 'up')
        ip('-n', netns, 'addr', 'add', '%s/%d' % (address, subnet.prefixlen), 'dev', 'eth0')
        ip('-n', netns, 'link', 'set', 'lo', 'up')
        ip('-n', netns, 'link', 'set', 'eth0', 'up')
        ip('-n', netns, 'route', 'add', 'default', 'via', str(subnet[1]))
        return address

    def detach(self, host):
        """Remove the host's veth pair and its netns."""
        ip('link', 'delete', self.veth_name(host), check=False)
        ip('netns', 'delete', self.netns_name(host), check=False)

    def leftovers(self):
        """Everything of this release's hosts still in the kernel: (netns names, link names)."""
        namespaces = [line.split()[0] for line in ip('netns', 'list').stdout.splitlines()
                      if line.startswith(self.prefix + '-')]
        # Exact names: ``ptb`` must not sweep the links of its lanes (``ptb0v...``, ``ptb0br0``).
        links = [link['ifname'] for link in json.loads(ip('-j', 'link', 'show').stdout)
                 if link['ifname'] == self.bridge or link['ifname'].startswith(self.prefix + 'v')]
        return namespaces, links

    def remove_bridge(self):
        ip('link', 'delete', self.bridge, check=False)
