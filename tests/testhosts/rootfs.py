"""The cached Debian root filesystem every test host boots from (read-only lower layer)."""

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import time
from contextlib import contextmanager

from .errors import HarnessError

# What the roles expect to find: test hosts reach no package registry.
PACKAGES = (
    'dbus',
    'iproute2',
    'libpam-systemd',
    'openssh-server',
    'procps',
    'python3',
    'python3-apt',
    'sudo',
    'systemd',
    'systemd-sysv',
    'tmux',
)
# Timers that would only try to reach a mirror, or slow the boot, in a throwaway host.
MASKED_UNITS = ('apt-daily.timer', 'apt-daily-upgrade.timer', 'e2scrub_all.timer', 'fstrim.timer',
                'systemd-networkd-wait-online.service')
# Bump when the way the rootfs is prepared changes, so caches are rebuilt.
LAYOUT_VERSION = '3'
# The Debian releases test hosts can run; each has a cached rootfs of its own.
RELEASES = ('bookworm', 'trixie')


@contextmanager
def locked(path):
    """An exclusive lock shared with every other harness process on this machine."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'a') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def os_codename(os_release='/etc/os-release'):
    with open(os_release) as handle:
        match = re.search(r'^VERSION_CODENAME=(\S+)$', handle.read(), re.M)
    if not match:
        raise HarnessError('cannot tell the Debian release from %s' % os_release)
    return match.group(1).strip('"')


def apt_mirror(codename, sources=('/etc/apt/sources.list', '/etc/apt/sources.list.d')):
    """The archive URL this machine's apt sources use for ``codename`` (one-line or deb822)."""
    files = []
    for source in sources:
        if os.path.isdir(source):
            files.extend(os.path.join(source, name) for name in sorted(os.listdir(source))
                         if name.endswith(('.list', '.sources')))
        elif os.path.exists(source):
            files.append(source)
    for path in files:
        with open(path) as handle:
            text = handle.read()
        for uri, suites in _apt_entries(text):
            if codename in suites:
                return uri.rstrip('/')
    raise HarnessError('no apt source for %r in %s: debootstrap needs a Debian mirror' % (codename, ', '.join(files)))


def _apt_entries(text):
    for line in text.splitlines():
        words = line.split('#', 1)[0].split()
        if len(words) >= 3 and words[0] == 'deb':
            words = [w for w in words[1:] if not w.startswith('[')]
            yield words[0], words[1:2]
    for stanza in re.split(r'\n\s*\n', text):
        fields = dict(re.findall(r'^(\w[\w-]*):[ \t]*(.*)$', stanza, re.M))
        if 'deb' in fields.get('Types', '').split() and 'URIs' in fields:
            for uri in fields['URIs'].split():
                yield uri, fields.get('Suites', '').split()


def release():
    """The release test hosts run: $TESTHOSTS_RELEASE, else this machine's own."""
    chosen = os.environ.get('TESTHOSTS_RELEASE') or os_codename()
    if chosen not in RELEASES:
        raise HarnessError('TESTHOSTS_RELEASE=%s: test hosts run %s' % (chosen, ' or '.join(RELEASES)))
    return chosen


class RootFS:
    """``cache_dir/rootfs-<key>``, built once by debootstrap, keyed by what goes into it."""

    def __init__(self, cache_dir, codename, packages=PACKAGES, mirror=None):
        self.cache_dir = cache_dir
        self.packages = tuple(sorted(packages))
        self.codename = codename
        # The mirror of this machine's own release serves the others too.
        self.mirror = mirror or apt_mirror(os_codename())
        key = hashlib.sha256(repr((LAYOUT_VERSION, self.codename, self.mirror, self.packages)).encode()).hexdigest()
        self.path = os.path.join(cache_dir, 'rootfs-' + key[:16])
        self.log = self.path + '.log'

    def ensure(self):
        """Build the rootfs unless a complete one is cached; safe when runs race."""
        if os.path.exists(os.path.join(self.path, '.complete')):
            return self.path
        with locked(os.path.join(self.cache_dir, 'rootfs.lock')):
            if not os.path.exists(os.path.join(self.path, '.complete')):
                self._build()
        return self.path

    def _build(self):
        if not shutil.which('debootstrap'):
            raise HarnessError('debootstrap is not installed: apt-get install debootstrap (make system-deps)')
        staging = self.path + '.partial'
        shutil.rmtree(staging, ignore_errors=True)
        started = time.monotonic()
        command = ['debootstrap', '--variant=minbase', '--include=' + ','.join(self.packages),
                   self.codename, staging, self.mirror]
        with open(self.log, 'w') as log:
            log.write('$ %s\n' % ' '.join(command))
            log.flush()
            result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise HarnessError('debootstrap of %s failed (exit %d): read %s' % (
                self.codename, result.returncode, self.log))
        self._configure(staging)
        with open(os.path.join(staging, '.complete'), 'w') as marker:
            marker.write('built in %.1f s\n' % (time.monotonic() - started))
        os.rename(staging, self.path)

    def _configure(self, root):
        """What every host shares; per-host keys and identity are added at boot time."""
        for unit in MASKED_UNITS:
            link = os.path.join(root, 'etc/systemd/system', unit)
            if not os.path.lexists(link):
                os.symlink('/dev/null', link)
        # Each host gets its own host keys and machine id when it is created.
        for name in os.listdir(os.path.join(root, 'etc/ssh')):
            if name.startswith('ssh_host_'):
                os.unlink(os.path.join(root, 'etc/ssh', name))
        for path in ('etc/machine-id', 'var/lib/dbus/machine-id'):
            if os.path.lexists(os.path.join(root, path)):
                os.unlink(os.path.join(root, path))
        # Root (the harness and Ansible) lingers: on trixie a login that arrives while root's
        # user manager is stopping waits 20 s and more in pam_systemd.
        os.makedirs(os.path.join(root, 'var/lib/systemd/linger'), exist_ok=True)
        open(os.path.join(root, 'var/lib/systemd/linger/root'), 'w').close()
        shutil.rmtree(os.path.join(root, 'var/cache/apt/archives'), ignore_errors=True)
        os.makedirs(os.path.join(root, 'var/cache/apt/archives/partial'))

    @property
    def build_seconds(self):
        with open(os.path.join(self.path, '.complete')) as marker:
            return float(marker.read().split()[2])
