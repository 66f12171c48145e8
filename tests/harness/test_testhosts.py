"""The test-host harness itself: real Debian hosts boot, talk, reboot and leave nothing behind."""

import json
import os
import subprocess
import sys

import pytest
from testhosts import Harness, HarnessError, network
from testhosts.rootfs import RootFS

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='test hosts need root')

NOTHING = {'processes': [], 'mounts': [], 'netns': [], 'links': []}


def test_two_hosts_ssh_reboot_and_teardown():
    harness = Harness()
    names = ['smoke-a', 'smoke-b']
    try:
        a, b = harness.up(names)
        assert a.address != b.address
        assert a.run('hostname').stdout.strip() == 'smoke-a'
        # Real ssh from one host to the other, with a key made on the first.
        a.run('ssh-keygen -q -t ed25519 -N "" -f /root/.ssh/id_ed25519')
        b.run('cat >> /root/.ssh/authorized_keys', input=a.run('cat /root/.ssh/id_ed25519.pub').stdout)
        reply = a.run('ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new root@%s hostname' % b.address)
        assert reply.stdout.strip() == 'smoke-b'

        # A reboot is a new boot (fresh /run) of the same disk (the overlay keeps /root).
        b.run('touch /run/boot-marker /root/disk-marker')
        b.reboot()
        assert b.run('test -e /run/boot-marker', check=False).returncode == 1
        assert b.run('test -e /root/disk-marker', check=False).returncode == 0
        assert b.run('systemctl is-active ssh').stdout.strip() == 'active'
        assert a.run('ssh -o BatchMode=yes root@%s true' % b.address, check=False).returncode == 0
    finally:
        harness.down(names)
    assert harness.leftovers(names) == NOTHING
    assert not any(os.path.exists(os.path.join(harness.hosts_dir, name)) for name in names)


def test_host_that_never_answers_is_named_with_its_log_and_removed():
    harness = Harness()
    with pytest.raises(HarnessError) as failure:
        harness.up(['smoke-slow'], timeout=0.01)
    message = str(failure.value)
    assert 'test host smoke-slow' in message
    assert 'read %s' % os.path.join(harness.logs_dir, 'smoke-slow.log') in message
    assert '\n' not in message
    assert harness.leftovers(['smoke-slow']) == NOTHING


def test_missing_tools_fail_in_one_line_before_anything_starts(monkeypatch, tmp_path):
    monkeypatch.setenv('PATH', str(tmp_path))
    harness = Harness()
    with pytest.raises(HarnessError, match=r'^missing tools for test hosts: apt-get install .*systemd-container'):
        harness.up(['smoke-none'])
    assert 'smoke-none' not in harness.hosts()


def test_failed_debootstrap_names_its_log_and_leaves_no_rootfs(tmp_path):
    # A closed port on loopback: debootstrap fails at once, as with an unreachable mirror.
    rootfs = RootFS(str(tmp_path), 'bookworm', mirror='http://127.0.0.1:9/debian')
    with pytest.raises(HarnessError, match=r'debootstrap of \w+ failed \(exit \d+\): read ' + rootfs.log):
        rootfs.ensure()
    assert os.listdir(str(tmp_path)) in (['rootfs.lock', os.path.basename(rootfs.log)],
                                         [os.path.basename(rootfs.log), 'rootfs.lock'])


# Before the tests of this module that use the `testhosts` fixture, whose host down --all would end.
def test_down_all_sweeps_what_a_killed_run_left():
    harness = Harness()
    if harness.hosts():
        pytest.skip('other test hosts are running here: down --all would remove them too')
    # The CLI exits and leaves its host running with no owner, as a killed run does ...
    cli('up', 'orphan-a')
    # ... and a run killed in the middle of `up` leaves a netns and a veth with no host, and a mount.
    prefix = harness.network.prefix
    network.ip('netns', 'add', prefix + '-orphan-b')
    network.ip('link', 'add', prefix + 'v250', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', prefix + '-orphan-b')
    network.ip('link', 'add', prefix + 'v251', 'type', 'veth', 'peer', 'name', prefix + 'v252')
    mount_point = os.path.join(harness.hosts_dir, 'orphan-c', 'merged')
    os.makedirs(mount_point)
    subprocess.run(['mount', '-t', 'tmpfs', 'tmpfs', mount_point], check=True)
    left = harness.leftovers()
    assert {prefix + '-orphan-a', prefix + '-orphan-b'} <= set(left['netns'])
    assert {prefix + 'v250', prefix + 'v251'} <= set(left['links'])
    assert harness.network.veth_name('orphan-a') in harness.network.leftovers()[1]
    assert mount_point in left['mounts'] and left['processes']

    cli('down', '--all')
    assert harness.leftovers() == NOTHING
    assert harness.hosts() == {}


def cli(*args):
    tests_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return subprocess.run([sys.executable, '-m', 'testhosts', *args], cwd=tests_dir, capture_output=True,
                          text=True, check=True).stdout


def test_cli_lists_and_writes_an_inventory(testhosts):
    address = testhosts['host'].address
    assert 'host %s running' % address in cli('list').splitlines()
    assert json.loads(cli('inventory', '--json', 'host'))['all']['hosts']['host']['ansible_host'] == address
    assert cli('ssh', 'host', 'cat', '/etc/hostname').strip() == 'host'
