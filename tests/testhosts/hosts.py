"""Boot, reach, reboot and remove test hosts: Debian under systemd-nspawn, one netns each.

A host is an overlayfs (upper dir per host, cached rootfs below) booted by
``systemd-nspawn -b`` inside its own network namespace.  A small supervisor shell loop
restarts nspawn when the guest reboots (nspawn exits 133 then), so ``reboot`` is a real
reboot of the guest's systemd.
"""

import concurrent.futures
import contextlib
import ipaddress
import json
import os
import shlex
import shutil
import signal
import subprocess
import time
import uuid

from . import network
from .errors import HarnessError
from .rootfs import RootFS, locked, release

CACHE_DIR = os.environ.get('TESTHOSTS_CACHE', '/var/cache/pairing-testhosts')
REQUIRED_TOOLS = {'systemd-nspawn': 'systemd-container', 'ip': 'iproute2', 'ssh': 'openssh-client',
                  'ssh-keygen': 'openssh-client', 'debootstrap': 'debootstrap'}
BOOT_TIMEOUT = float(os.environ.get('TESTHOSTS_BOOT_TIMEOUT', '90'))
# nspawn's exit status when the guest asked for a reboot.
REBOOT_STATUS = 133


def _valid_name(name):
    return bool(name) and len(name) <= 20 and name[0].isalpha() and all(
        c.islower() or c.isdigit() or c == '-' for c in name)


class Host:
    """A running test host as the state file describes it."""

    def __init__(self, harness, name, address, supervisor_pid):
        self.harness = harness
        self.name = name
        self.address = address
        self.supervisor_pid = supervisor_pid

    def __repr__(self):
        return 'Host(%s, %s)' % (self.name, self.address)

    @property
    def directory(self):
        return os.path.join(self.harness.hosts_dir, self.name)

    @property
    def root(self):
        """The host's filesystem as the guest sees it (the overlay's merged view)."""
        return os.path.join(self.directory, 'merged')

    @property
    def log(self):
        """The guest's console; kept after the host is removed, for the error message's sake."""
        return os.path.join(self.harness.logs_dir, self.name + '.log')

    def ssh_command(self, *command, tty=False):
        """argv for running ``command`` on the host as root (interactive shell when empty)."""
        return ['ssh', '-F', self.harness.ssh_config, *(['-tt'] if tty else []), self.name, *command]

    def run(self, command, check=True, timeout=60, **kwargs):
        """Run a shell command line on the host; CompletedProcess with text output."""
        result = subprocess.run(self.ssh_command(command), capture_output=True, text=True, timeout=timeout,
                                check=False, **kwargs)
        if check and result.returncode != 0:
            raise HarnessError('test host %s: `%s` exited %d: %s' % (
                self.name, command, result.returncode, (result.stderr or result.stdout).strip()[-500:]))
        return result

    def alive(self):
        return _pid_alive(self.supervisor_pid)

    def wait_for_ssh(self, timeout=BOOT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise HarnessError('test host %s stopped while booting: read %s' % (self.name, self.log))
            # 255 is ssh's own failure (not listening yet); anything else is the guest answering.
            if self._probe('systemctl is-system-running --wait', deadline) not in (None, 255):
                return
            time.sleep(0.2)
        raise HarnessError('test host %s did not answer ssh within %.0f s: read %s' % (self.name, timeout, self.log))

    def _probe(self, command, deadline):
        """Exit status of ``command`` over ssh, None when it did not finish before ``deadline``."""
        try:
            return subprocess.run(self.ssh_command(command), capture_output=True, check=False,
                                  timeout=max(1, deadline - time.monotonic())).returncode
        except subprocess.TimeoutExpired:
            return None

    def reboot(self, timeout=2 * BOOT_TIMEOUT):
        """A real reboot of the guest: wait until it is back with a fresh /run."""
        self.run('touch /run/pairing-testhosts-before-reboot')
        subprocess.run(self.ssh_command('systemctl reboot'), capture_output=True, timeout=30, check=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.3)
            if not self.alive():
                raise HarnessError('test host %s did not come back from reboot: read %s' % (self.name, self.log))
            if self._probe('test ! -e /run/pairing-testhosts-before-reboot', deadline) == 0:
                self.wait_for_ssh(max(1, deadline - time.monotonic()))
                return
        raise HarnessError('test host %s did not come back from reboot within %.0f s: read %s' % (
            self.name, timeout, self.log))


def default_state_dir(codename):
    return os.environ.get('TESTHOSTS_STATE') or os.path.join('/var/lib/pairing-testhosts', codename)


class Harness:
    """All test hosts of one Debian release on this machine, under ``state_dir``; any process
    may manage them.  Each release has its own state and network, so both can run at once."""

    def __init__(self, state_dir=None, cache_dir=CACHE_DIR, codename=None):
        self.release = codename or release()
        self.network = network.Network(self.release)
        self.state_dir = state_dir or default_state_dir(self.release)
        self.cache_dir = cache_dir
        self.hosts_dir = os.path.join(self.state_dir, 'hosts')
        self.logs_dir = os.path.join(self.state_dir, 'logs')
        self.key = os.path.join(self.state_dir, 'id_ed25519')
        self.ssh_config = os.path.join(self.state_dir, 'ssh_config')
        self.known_hosts = os.path.join(self.state_dir, 'known_hosts')
        self.lock = os.path.join(self.state_dir, 'hosts.lock')

    # -- queries -------------------------------------------------------------------------

    def hosts(self):
        """Hosts with a state file, by name (some may have died: see Host.alive)."""
        found = {}
        if os.path.isdir(self.hosts_dir):
            for name in sorted(os.listdir(self.hosts_dir)):
                state = os.path.join(self.hosts_dir, name, 'state.json')
                if os.path.exists(state):
                    with open(state) as handle:
                        data = json.load(handle)
                    found[name] = Host(self, name, data['address'], data['supervisor_pid'])
        return found

    def get(self, name):
        host = self.hosts().get(name)
        if host is None:
            raise HarnessError('no test host named %s (up it first: python -m testhosts up %s)' % (name, name))
        return host

    def inventory(self, names=None):
        """Ansible inventory (a dict, to dump as YAML or JSON) for the running hosts."""
        hosts = {name: host for name, host in self.hosts().items() if names is None or name in names}
        return {'all': {'hosts': {name: {
            'ansible_host': host.address,
            'ansible_user': 'root',
            'ansible_ssh_private_key_file': self.key,
            'ansible_ssh_common_args': '-F %s' % self.ssh_config,
            'ansible_python_interpreter': '/usr/bin/python3',
        } for name, host in hosts.items()}}}

    # -- lifecycle -----------------------------------------------------------------------

    def up(self, names, timeout=BOOT_TIMEOUT):
        """Boot the named hosts (those already running are kept) and wait until ssh answers."""
        bad = [name for name in names if not _valid_name(name)]
        if bad:
            raise HarnessError('invalid test host name %r: use 1-20 of a-z, 0-9 and -, starting with a letter' % bad[0])
        _check_prerequisites()
        rootfs = RootFS(self.cache_dir, self.release).ensure()
        started = []
        try:
            with locked(self.lock):
                self._ensure_key()
                with locked(os.path.join(self.cache_dir, 'network.lock')):  # releases pick subnets in turn
                    subnet = self.network.ensure_bridge()
                running = self.hosts()
                for name in names:
                    if name in running and running[name].alive():
                        continue
                    if name in running:
                        self._remove(name)
                    taken = {ipaddress.ip_address(host.address) for host in self.hosts().values()}
                    try:
                        started.append(self._start(name, rootfs, subnet, taken))
                    except BaseException:
                        self._remove(name)
                        raise
                self._write_ssh_config()
            with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(started))) as pool:
                list(pool.map(lambda host: host.wait_for_ssh(timeout), started))
        except BaseException:
            self.down([host.name for host in started])
            raise
        hosts = self.hosts()
        return [hosts[name] for name in names]

    def down(self, names):
        with locked(self.lock):
            for name in names:
                self._remove(name)
            self._write_ssh_config()
            if not self.hosts():
                self.network.remove_bridge()

    def down_all(self):
        """Remove every host, and whatever a killed run left: processes, mounts, netns, links."""
        with locked(self.lock):
            for name in self.hosts():
                self._remove(name)
            for pid in _harness_processes(self.hosts_dir):
                _kill_tree(pid)
            for mount in _mounts_under(self.hosts_dir):
                subprocess.run(['umount', '-l', mount], check=False)
            if os.path.isdir(self.hosts_dir):
                shutil.rmtree(self.hosts_dir, ignore_errors=True)
            for tree in _cgroup_trees():
                with contextlib.suppress(OSError):
                    for unique in os.listdir(os.path.join(tree, 'pairing-testhosts')):
                        if unique.startswith(self.network.prefix + '-'):
                            _remove_cgroups(unique)
            namespaces, links = self.network.leftovers()
            for netns in namespaces:
                network.ip('netns', 'delete', netns, check=False)
            for link in links:
                if link != self.network.bridge:
                    network.ip('link', 'delete', link, check=False)
            self.network.remove_bridge()
            self._write_ssh_config()

    def leftovers(self, names=None):
        """What is left on the machine of the named hosts (default: of every host, as after
        down_all): live processes, mounts, network namespaces, and links no running host owns."""
        names = names if names is not None else [None]
        dirs = [os.path.join(self.hosts_dir, name) if name else self.hosts_dir for name in names]
        namespaces, links = self.network.leftovers()
        running = [host for host in self.hosts().values() if host.name not in names]
        owned = {self.network.veth_name(host.name) for host in running}
        return {
            'processes': sorted(pid for d in dirs for pid in _harness_processes(d)),
            'mounts': [mount for d in dirs for mount in _mounts_under(d)],
            'netns': [ns for ns in namespaces if None in names or ns in {self.network.netns_name(n) for n in names}],
            'links': [link for link in links if link not in owned and not (running and link == self.network.bridge)],
        }

    # -- internals -----------------------------------------------------------------------

    def _start(self, name, rootfs, subnet, taken):
        directory = os.path.join(self.hosts_dir, name)
        self._remove(name)  # whatever an interrupted start of the same name left
        for sub in ('upper', 'work', 'merged'):
            os.makedirs(os.path.join(directory, sub))
        subprocess.run(['mount', '-t', 'overlay', 'overlay', '-o', 'lowerdir=%s,upperdir=%s,workdir=%s' % (
            rootfs, os.path.join(directory, 'upper'), os.path.join(directory, 'work')),
            os.path.join(directory, 'merged')], check=True, capture_output=True)
        address = self.network.attach(name, subnet, taken)
        host = Host(self, name, str(address), None)
        with open(os.path.join(directory, 'state.json'), 'w') as handle:
            json.dump({'address': host.address, 'supervisor_pid': None}, handle)
        self._personalise(host, subnet[1])
        os.makedirs(self.logs_dir, exist_ok=True)
        log = open(host.log, 'w')  # noqa: SIM115 - handed to the supervisor, closed below
        # The loop restarts nspawn after a guest reboot, unless the host is being removed.
        nspawn = ' '.join(shlex.quote(arg) for arg in [
            'systemd-nspawn', '--boot', '--directory', host.root, '--machine', name,
            '--keep-unit', '--register=no', '--network-namespace-path', '/run/netns/' + self.network.netns_name(name),
            '--console=passive', '--uuid', str(uuid.uuid4()),
            # nspawn's seccomp filter refuses Landlock, which the guests' tmux clients run under.
            '--system-call-filter=landlock_create_ruleset landlock_add_rule landlock_restrict_self'])
        # The supervisor first enters the host's own cgroups, which nspawn (--keep-unit) then uses.
        cgroups = _make_cgroups(self.network.netns_name(name))
        supervisor = subprocess.Popen(
            ['sh', '-c', 'for procs in %s; do echo $$ > "$procs"; done; '
             'while :; do %s; status=$?; [ "$status" -eq %d ] && [ ! -e %s ] || exit "$status"; done' % (
                 ' '.join(shlex.quote(os.path.join(cgroup, 'cgroup.procs')) for cgroup in cgroups),
                 nspawn, REBOOT_STATUS, shlex.quote(os.path.join(directory, 'stop')))],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        host.supervisor_pid = supervisor.pid
        with open(os.path.join(directory, 'state.json'), 'w') as handle:
            json.dump({'address': host.address, 'supervisor_pid': supervisor.pid}, handle)
        return host

    def _personalise(self, host, controller):
        """Per-host identity written before boot: host keys, machine id, root's test key."""
        root = host.root
        if os.path.exists(os.path.join(root, 'usr/lib/openssh/sshd-session')):
            # OpenSSH >= 9.8 penalises a source address after failed logins, and the harness and
            # every test's clients share the bridge's address: a test that fails logins on purpose
            # would shut the next ones out. Tests of the penalties themselves lift this.
            with open(os.path.join(root, 'etc/ssh/sshd_config.d/zz-testhosts.conf'), 'w') as handle:
                handle.write('PerSourcePenaltyExemptList %s\n' % controller)
        subprocess.run(['ssh-keygen', '-A', '-f', root], check=True, capture_output=True)
        with open(os.path.join(root, 'etc/machine-id'), 'w') as handle:
            handle.write(uuid.uuid4().hex + '\n')
        ssh_dir = os.path.join(root, 'root/.ssh')
        os.makedirs(ssh_dir, mode=0o700, exist_ok=True)
        shutil.copyfile(self.key + '.pub', os.path.join(ssh_dir, 'authorized_keys'))
        os.chmod(os.path.join(ssh_dir, 'authorized_keys'), 0o600)
        with open(os.path.join(root, 'etc/hostname'), 'w') as handle:
            handle.write(host.name + '\n')
        with open(os.path.join(root, 'etc/hosts'), 'w') as handle:
            handle.write('127.0.0.1 localhost\n%s %s\n' % (host.address, host.name))

    def _remove(self, name):
        directory = os.path.join(self.hosts_dir, name)
        host = self.hosts().get(name)
        if host is not None and host.supervisor_pid:
            _stop_supervisor(host.supervisor_pid, os.path.join(directory, 'stop'))
        merged = os.path.join(directory, 'merged')
        if os.path.ismount(merged):
            subprocess.run(['umount', merged], check=False, capture_output=True)
            if os.path.ismount(merged):
                subprocess.run(['umount', '-l', merged], check=False, capture_output=True)
        self.network.detach(name)
        _remove_cgroups(self.network.netns_name(name))
        shutil.rmtree(directory, ignore_errors=True)

    def _ensure_key(self):
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        if not os.path.exists(self.key):
            subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'pairing-testhosts', '-f', self.key],
                           check=True)

    def _write_ssh_config(self):
        """ssh_config and known_hosts for the running hosts: the host keys are ours, so check them."""
        hosts = self.hosts()
        known, config = [], []
        for name, host in hosts.items():
            for key in sorted(os.listdir(os.path.join(host.root, 'etc/ssh'))):
                if key.startswith('ssh_host_') and key.endswith('.pub'):
                    with open(os.path.join(host.root, 'etc/ssh', key)) as handle:
                        keytype, blob = handle.read().split()[:2]
                    known.append('%s,%s %s %s' % (name, host.address, keytype, blob))
            config.append('Host %s %s\n  HostName %s\n' % (name, host.address, host.address))
        config.append('Host *\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n'
                      '  StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 5\n'
                      '  LogLevel ERROR\n' % (self.key, self.known_hosts))
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        for path, lines in ((self.known_hosts, known), (self.ssh_config, config)):
            with open(path + '.tmp', 'w') as handle:
                handle.write('\n'.join(lines) + '\n')
            os.replace(path + '.tmp', path)


def _check_prerequisites():
    if os.geteuid() != 0:
        raise HarnessError('test hosts need root (systemd-nspawn, network namespaces, mounts): run as root')
    missing = sorted({package for tool, package in REQUIRED_TOOLS.items() if not shutil.which(tool)})
    if missing:
        raise HarnessError('missing tools for test hosts: apt-get install %s (make system-deps)' % ' '.join(missing))


def _pid_alive(pid):
    if not pid:
        return False
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def _children(pid):
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid)) as handle:
            return [int(child) for child in handle.read().split()]
    except OSError:
        return []


def _signal(pid, sig):
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _kill_tree(pid):
    for child in _children(pid):
        _kill_tree(child)
    _signal(pid, signal.SIGKILL)


def _stop_supervisor(pid, stop_file, timeout=15):
    """Power the guest off cleanly and let the supervisor, nspawn's parent, reap it and end."""
    open(stop_file, 'w').close()
    for nspawn in _children(pid):
        _signal(nspawn, signal.SIGTERM)  # nspawn turns it into a clean shutdown of the guest
    deadline = time.monotonic() + timeout
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    _kill_tree(pid)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)  # ours when this process started it: leave no zombie


def _cgroup_trees():
    """The mounted cgroup hierarchies systemd keeps its units in: the named v1 one and the
    unified one (hybrid), or the one v2 tree."""
    hybrid = [tree for tree in ('/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified') if os.path.ismount(tree)]
    return hybrid or ['/sys/fs/cgroup']


def _make_cgroups(unique):
    """A cgroup of its own for one host, in every hierarchy. nspawn --keep-unit puts the guest
    under the cgroup it runs in: hosts sharing one would share their units' cgroups, and a
    host shutting down would wait for another's user@UID.service to empty."""
    made = []
    for tree in _cgroup_trees():
        path = os.path.join(tree, 'pairing-testhosts', unique)
        os.makedirs(path, exist_ok=True)
        made.append(path)
    return made


def _remove_cgroups(unique):
    """The host's cgroups, deepest first (a cgroup is removed with rmdir once it is empty)."""
    for tree in _cgroup_trees():
        top = os.path.join(tree, 'pairing-testhosts', unique)
        for path, _dirs, _files in sorted(os.walk(top), key=lambda walked: -walked[0].count('/')):
            with contextlib.suppress(OSError):
                os.rmdir(path)


def _harness_processes(hosts_dir):
    """PIDs whose command line names a path under the harness's hosts dir."""
    marker = hosts_dir.encode() + b'/'
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/cmdline' % entry, 'rb') as handle:
                    if marker in handle.read():
                        found.append(int(entry))
            except OSError:
                continue
    return sorted(found)


def _mounts_under(directory):
    prefix = directory.rstrip('/') + '/'
    with open('/proc/self/mounts') as handle:
        return [fields[1] for fields in (line.split() for line in handle) if fields[1].startswith(prefix)]
