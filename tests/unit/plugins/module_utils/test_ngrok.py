"""ngrok agent configuration and the agent's log as journalctl -o json shows it (the agent itself:
tests/ngrok/fake_ngrok.py on test hosts, and here, run as a process), and the host role's unit
that runs it."""

import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading

import jinja2
import pytest

from ansible_collections.pairing.tmux.plugins.module_utils.ngrok import (
    FIXES,
    agent_config,
    agent_error,
    agent_gave_up,
    configured_authtoken,
    endpoint_url,
    journal_records,
    mask,
    one_line,
    render,
    split_tcp_url,
    upstream_url,
)

DOUBLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'ngrok', 'fake_ngrok.py')
TEMPLATES = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'host', 'templates')
UNIT = 'pairing-ngrok.service'
NOW = '5f0c5e1c2b7a4d35a1b0e0e7c3f4a9d1'
EARLIER = '0d6b9f5ce3a84c45b2f1a7e9d8c6b5a4'


def test_v3_config_for_one_tcp_endpoint_without_a_local_api():
    config = json.loads(render(agent_config('tok3n', 'pairing-ssh', 22)))
    assert config == {
        'version': 3,
        'agent': {'authtoken': 'tok3n', 'web_addr': False, 'update_check': False},
        'endpoints': [{'name': 'pairing-ssh', 'url': 'tcp://', 'upstream': {'url': '22'}}],
    }


def test_reserved_address_region_and_an_upstream_address():
    config = agent_config('t', 'x', '127.0.0.1:2022', url='tcp://1.tcp.ngrok.io:20000', region='eu')
    assert config['endpoints'][0]['url'] == 'tcp://1.tcp.ngrok.io:20000'
    assert config['endpoints'][0]['upstream'] == {'url': 'tcp://127.0.0.1:2022'}
    assert config['agent']['region'] == 'eu' and config['agent']['web_addr'] is False


@pytest.mark.parametrize('given, rendered', [
    ('22', '22'), (2022, '2022'), (' 22 ', '22'),
    ('127.0.0.1:2022', 'tcp://127.0.0.1:2022'), ('localhost:22', 'tcp://localhost:22'),
    ('[::1]:22', 'tcp://[::1]:22'), ('tcp://127.0.0.1:2022', 'tcp://127.0.0.1:2022'),
    ('sshd.internal:2022', 'tcp://sshd.internal:2022'),
])
def test_upstream_a_port_or_an_address(given, rendered):
    assert upstream_url(given) == rendered


@pytest.mark.parametrize('bad', ['0', '70000', '127.0.0.1:0', 'x:65536', 'http://127.0.0.1:22', 'tls://h:22',
                                 'localhost', 'x:', ':22', 'tcp://x', '1.2.3.4:22/path', 'h:22 extra', '22\n23',
                                 '\uff12\uff12', 'h\u0131:22', 'a b:22', ''])
def test_upstream_refuses_what_the_agent_would_not_read_as_a_tcp_upstream(bad):
    with pytest.raises(ValueError, match='upstream'):
        upstream_url(bad)


def test_rendering_is_stable_and_masking_hides_the_token():
    first, second = render(agent_config('s3cret-token', 'x', 22)), render(agent_config('s3cret-token', 'x', 22))
    assert first == second
    assert 's3cret-token' not in mask(first) and '"authtoken": "********"' in mask(first)
    hand_written = 'version: 3\nagent:\n  authtoken: 2abcDEF_ghi\n  region: eu\n'
    assert mask(hand_written) == 'version: 3\nagent:\n  authtoken: ********\n  region: eu\n'


def test_the_token_of_a_configuration_this_collection_wrote_and_of_nothing_else():
    assert configured_authtoken(render(agent_config('s3cret-token', 'x', 22))) == 's3cret-token'
    for other in ('version: 3\nagent:\n  authtoken: 2abcDEF_ghi\n', '', 'null', '[]', '{"agent": []}',
                  '{"version": 3}', '{"agent": {"authtoken": ""}}', '{"agent": {"authtoken": 12345}}',
                  '{"agent": {"authtoken": "a"}, "agent": {"authtoken": "b"}}'):
        assert configured_authtoken(other) is None, other


def test_split_tcp_url():
    assert split_tcp_url('tcp://0.tcp.ngrok.io:12345') == ('0.tcp.ngrok.io', 12345)
    for bad in ('https://x:1', 'tcp://x', 'tcp://x:0', 'tcp://x:70000', 'tcp://x y:1', 'tcp://x:1\n', None, 12345):
        with pytest.raises(ValueError, match='not a TCP address'):
            split_tcp_url(bad)


# The agent's records, in the shapes it writes them (--log-format json: log15 records, keys sorted;
# e.g. {"addr":"//localhost:37465","lvl":"info","msg":"started tunnel","name":"command_line",
# "obj":"tunnels","t":"...","url":"tcp://0.tcp.ngrok.io:17585"}), each a MESSAGE of a journal entry.
def record(msg, lvl='info', **context):
    return json.dumps(dict(context, t='2026-03-01T10:00:00.123+01:00', lvl=lvl, msg=msg),
                      sort_keys=True, separators=(',', ':'))


def started(url, name='pairing-ssh'):
    return record('started tunnel', obj='tunnels', name=name, addr='//localhost:22', url=url)


def entry(message, unit=UNIT, invocation=NOW, **fields):
    """One line of journalctl -o json: journald's trusted fields beside the agent's MESSAGE."""
    line = {'__CURSOR': 's=1;i=2', '__REALTIME_TIMESTAMP': '1772355600123456', '_PID': '4242', '_UID': '61820',
            '_COMM': 'ngrok', '_TRANSPORT': 'stdout', 'SYSLOG_IDENTIFIER': 'ngrok', 'MESSAGE': message}
    if unit is not None:
        line['_SYSTEMD_UNIT'] = unit
    if invocation is not None:
        line['_SYSTEMD_INVOCATION_ID'] = invocation
    line.update(fields)
    return json.dumps(line)


def address(lines, name='pairing-ssh'):
    return endpoint_url(journal_records(lines, UNIT, NOW), name)


def test_the_address_the_agent_logged_in_this_run():
    lines = [entry(record('no configuration paths supplied')),
             entry(record('client session established', obj='csess', id='c90e2932424c')),
             entry(record('tunnel session started', obj='tunnels.session')),
             entry(started('tcp://0.tcp.ngrok.io:17585'))]
    assert address(lines) == 'tcp://0.tcp.ngrok.io:17585'


def test_after_a_reconnect_the_last_address_counts():
    lines = [entry(started('tcp://0.tcp.ngrok.io:17585')),
             entry(record('session closed, starting reconnect loop', lvl='eror', obj='csess', err='EOF')),
             entry(started('tcp://6.tcp.eu.ngrok.io:13075'))]
    assert address(lines) == 'tcp://6.tcp.eu.ngrok.io:13075'


def test_no_address_while_the_agent_is_starting():
    assert address([]) is None
    assert address([entry(record('tunnel session started', obj='tunnels.session'))]) is None
    assert journal_records([entry(started('tcp://h:1'))], UNIT, None) == []


@pytest.mark.parametrize('hostile', [
    # another unit: a local user's logger, or any other service printing the same line
    entry(started('tcp://evil.example:1')).replace(UNIT, 'evil.service'),
    entry(started('tcp://evil.example:1'), unit='user@1000.service'),
    entry(started('tcp://evil.example:1'), unit=None),
    entry(started('tcp://evil.example:1'), unit=[UNIT, UNIT]),
    # an older run of the agent: its address is gone with it
    entry(started('tcp://old.example:1'), invocation=EARLIER),
    entry(started('tcp://old.example:1'), invocation=None),
    entry(started('tcp://evil.example:1'), invocation=NOW.upper()),
    # the agent's stderr and anything else that is not one JSON object
    entry('t=2026-03-01T10:00:00+0100 lvl=info msg="started tunnel" obj=tunnels name=pairing-ssh '
          'addr=//localhost:22 url=tcp://evil.example:1'),
    entry('ERROR:  started tunnel pairing-ssh tcp://evil.example:1'),
    entry(json.dumps([json.loads(started('tcp://evil.example:1'))])),
    entry(json.dumps(started('tcp://evil.example:1'))),  # a JSON string holding the record
    entry(started('tcp://evil.example:1') + ' trailing'),
    entry([ord(c) for c in started('tcp://evil.example:1')]),  # journalctl's byte array form
    entry(None),
    entry('[' * 100000),
    # the right words inside another field: what a remote side can make the agent log stays a string
    entry(record('join connections', obj='join', id='8db744a20159', l='127.0.0.1:22',
                 r=started('tcp://evil.example:1'))),
    entry(record('join connections', obj='join', id='8db744a20159',
                 r='msg="started tunnel" name=pairing-ssh url=tcp://evil.example:1')),
    entry(record('failed to open private leg', lvl='warn', name='pairing-ssh', url='tcp://evil.example:1',
                 err='started tunnel')),
    entry(record('Started tunnel', name='pairing-ssh', url='tcp://evil.example:1')),
    entry(record('started tunnel ', name='pairing-ssh', url='tcp://evil.example:1')),
    entry(record('started tunnel', tunnel={'name': 'pairing-ssh', 'url': 'tcp://evil.example:1'})),
    # a second endpoint, and names that only look alike
    entry(started('tcp://evil.example:2', name='pairing-ssh-2')),
    entry(started('tcp://evil.example:2', name='pairing-ssh ')),
    entry(started('tcp://evil.example:2', name='Pairing-SSH')),
    entry(started('tcp://evil.example:2', name=['pairing-ssh'])),
    # our name, but no TCP address
    entry(started('https://evil.ngrok.app')),
    entry(started('tcp://evil.example:1\nx')),
    entry(record('started tunnel', name='pairing-ssh', url=12345)),
    entry(record('started tunnel', name='pairing-ssh')),
    # a duplicate key: the record read one way by us and another way by someone else
    entry('{"msg":"join connections","msg":"started tunnel","name":"pairing-ssh","url":"tcp://evil.example:1"}'),
    # journalctl lines that are no entry
    started('tcp://evil.example:1'),
    '-- No entries --',
    entry(started('tcp://evil.example:1'))[:-1],
])
def test_nothing_but_this_run_s_own_record_gives_the_address(hostile):
    assert address([hostile]) is None
    assert address([entry(started('tcp://0.tcp.ngrok.io:12345')), hostile]) == 'tcp://0.tcp.ngrok.io:12345'


def test_the_outer_entry_with_a_duplicate_key_is_refused():
    line = entry(started('tcp://evil.example:1')).replace('{', '{"_SYSTEMD_UNIT": "evil.service", ', 1)
    assert address([line]) is None


LIMIT = ('failed to start tunnel: Your account may not run more than 3 endpoints.\r\n\r\n'
         'ERR_NGROK_324\r\nhttps://ngrok.com/docs/errors/err_ngrok_324\r\n')


def test_the_last_error_as_one_line_with_ngrok_s_code():
    records = journal_records([
        entry(record('starting web service', obj='web', addr='127.0.0.1:4040')),
        entry(record('failed to reconnect session', lvl='eror', obj='csess', err='dial tcp: i/o timeout')),
        entry(record('command failed', lvl='crit', err=LIMIT)),
        entry(record('join connections', obj='join', r='203.0.113.9:40000')),
    ], UNIT, NOW)
    assert agent_error(records) == ('command failed: failed to start tunnel: Your account may not run more than '
                                    '3 endpoints. (ERR_NGROK_324)')
    assert agent_gave_up(records)


def refusal(code, reason='failed to start tunnel: refused.'):
    """The record the agent writes when ngrok refuses it (--log-format json, keys sorted):
    ``{"err":"REASON\\r\\n\\r\\nERR_NGROK_N\\r\\n","lvl":"crit","msg":"command failed","t":...}``."""
    return json.loads(record('command failed', lvl='crit', err='%s\r\n\r\n%s\r\n' % (reason, code)))


@pytest.mark.parametrize('code, told', [
    ('ERR_NGROK_8013', 'ERR_NGROK_8013: add a card to the ngrok account at '
                       'https://dashboard.ngrok.com/settings#id-verification - TCP endpoints need one'),
    ('ERR_NGROK_105', 'ERR_NGROK_105: ngrok refused the authtoken: set NGROK_AUTHTOKEN to the token on '
                      'https://dashboard.ngrok.com/get-started/your-authtoken'),
    ('ERR_NGROK_107', 'ERR_NGROK_107: ngrok refused the authtoken: set NGROK_AUTHTOKEN to the token on '
                      'https://dashboard.ngrok.com/get-started/your-authtoken'),
    ('ERR_NGROK_334', 'command failed: failed to start tunnel: refused. (ERR_NGROK_334)'),
])
def test_ngrok_s_code_and_what_to_do_about_it(code, told):
    assert agent_error([refusal(code)]) == told
    assert agent_gave_up([refusal(code)])


def test_the_fixes_are_one_line_each_and_never_ngrok_s_message():
    # ngrok's message for a refused authtoken quotes the token: the line is the fix alone.
    token = refusal('ERR_NGROK_107', 'authentication failed: The authtoken is not valid. Your authtoken: s3cret')
    assert 's3cret' not in agent_error([token])
    assert all(one_line(fix) == fix for fix in FIXES.values())


def test_a_code_already_in_the_line_is_not_repeated_and_a_token_in_it_is_masked():
    assert agent_error([{'lvl': 'eror', 'msg': 'x', 'err': 'ERR_NGROK_334: already online'}]) == (
        'x: ERR_NGROK_334: already online')
    line = agent_error([{'lvl': 'crit', 'msg': 'command failed', 'err': 'bad config: authtoken: s3cret\nmore'}])
    assert line == 'command failed: bad config: authtoken: ********'


def test_the_agent_gives_up_at_crit_level_or_on_ngrok_s_code_not_on_a_dropped_session():
    dropped = json.loads(record('failed to reconnect session', lvl='eror', obj='csess', err='dial tcp: i/o timeout'))
    refused = json.loads(record('failed to reconnect session', lvl='eror', obj='csess',
                                err='authentication failed\r\n\r\nERR_NGROK_107\r\n'))
    config = json.loads(record('command failed', lvl='crit', err='error reading configuration file'))
    assert not agent_gave_up([]) and not agent_gave_up([dropped])
    assert not agent_gave_up([json.loads(record('failed to open private leg', lvl='warn', err='ERR_NGROK_8012'))])
    assert agent_gave_up([refused]) and agent_gave_up([config])
    assert not agent_gave_up([refused, dropped])  # the last error counts


def test_no_error_no_message_and_only_this_run_s_errors():
    assert agent_error([]) is None
    assert agent_error([json.loads(record('failed to open private leg', lvl='warn', err='refused'))]) is None
    older = entry(record('command failed', lvl='crit', err='authentication failed'), invocation=EARLIER)
    assert agent_error(journal_records([older], UNIT, NOW)) is None
    assert agent_error([{'lvl': 'EROR', 'msg': 'x'}]) == 'x'
    assert agent_error([{'lvl': 'crit'}]) == 'an error without a message'
    assert agent_error([{'lvl': 'crit', 'msg': ['a'], 'err': {'b': 1}}]) == 'an error without a message'


def test_an_error_line_is_one_printable_line():
    assert one_line('first\x1b[31m red\x07\nsecond') == 'first [31m red'
    assert one_line('\r\n  a\tb  \r\nc') == 'a b'
    assert len(one_line('x' * 1000)) == 300 and one_line('x' * 1000).endswith('...')


# The double, run as a process the way the service runs it: what it logs parses like the agent's.
def run_double(tmp_path, config, wait_for):
    path = tmp_path / 'ngrok.yml'
    path.write_text(render(config))
    process = subprocess.Popen([sys.executable, DOUBLE, 'start', '--all', '--config', str(path), '--log', 'stdout',
                                '--log-format', 'json'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()

    def read():
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    seen = []
    try:
        while not any(wait_for in line for line in seen):
            seen.append(lines.get(timeout=10))
    except queue.Empty:
        process.kill()
        raise AssertionError('the double logged no %r: %s %s' % (wait_for, seen, process.stderr.read())) from None
    return process, [entry(line.rstrip('\n')) for line in seen]


def test_the_double_s_log_gives_a_forward_that_reaches_the_upstream(tmp_path):
    upstream = socket.create_server(('127.0.0.1', 0))
    threading.Thread(target=lambda: upstream.accept()[0].sendall(b'SSH-2.0-OpenSSH_test\r\n'), daemon=True).start()
    config = agent_config('token', 'pairing-ssh', '127.0.0.1:%d' % upstream.getsockname()[1])
    process, lines = run_double(tmp_path, config, '"started tunnel"')
    try:
        records = journal_records(lines, UNIT, NOW)
        assert [record['msg'] for record in records] == ['client session established', 'tunnel session started',
                                                         'started tunnel']  # web_addr false: no web service
        _host, port = split_tcp_url(endpoint_url(records, 'pairing-ssh'))
        with socket.create_connection(('127.0.0.1', port), timeout=10) as conn:
            assert conn.recv(64) == b'SSH-2.0-OpenSSH_test\r\n'
    finally:
        process.kill()
        process.wait()
        upstream.close()


@pytest.mark.parametrize('token, told, before', [
    ('invalid', 'ERR_NGROK_105: ngrok refused the authtoken: set NGROK_AUTHTOKEN to the token on '
                'https://dashboard.ngrok.com/get-started/your-authtoken', []),
    ('fail-8013', 'ERR_NGROK_8013: add a card to the ngrok account at '
                  'https://dashboard.ngrok.com/settings#id-verification - TCP endpoints need one',
     ['client session established', 'tunnel session started']),
])
def test_the_double_s_refusals_are_the_error_line(tmp_path, token, told, before):
    process, lines = run_double(tmp_path, agent_config(token, 'pairing-ssh', 22), '"command failed"')
    assert process.wait(timeout=10) == 1
    records = journal_records(lines, UNIT, NOW)
    assert [record['msg'] for record in records] == [*before, 'command failed']
    assert endpoint_url(records, 'pairing-ssh') is None
    assert agent_error(records) == told and agent_gave_up(records)


def render_unit(name, **variables):
    """A unit of the host role as its template task writes it (trim_blocks, as Ansible renders)."""
    loader = jinja2.FileSystemLoader(TEMPLATES)
    environment = jinja2.Environment(loader=loader, trim_blocks=True, keep_trailing_newline=True,
                                     undefined=jinja2.StrictUndefined)
    return environment.get_template(name).render(ansible_managed='Ansible managed', **variables)


def settings(unit):
    return [line for line in unit.splitlines() if '=' in line and not line.startswith('#')]


def verify(tmp_path, name, unit):
    """systemd reads the unit without a complaint; units it names are looked for beside it too."""
    analyze = shutil.which('systemd-analyze')
    if analyze is None:
        pytest.skip('no systemd-analyze here')
    (tmp_path / name).write_text(unit)
    run = subprocess.run([analyze, 'verify', str(tmp_path / name)], capture_output=True, text=True, check=False,
                         env=dict(os.environ, SYSTEMD_UNIT_PATH='%s:' % tmp_path))
    assert run.returncode == 0 and name not in run.stderr, run.stderr


SANDBOX = ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes']


def test_the_service_runs_the_agent_unprivileged_and_systemd_reads_it(tmp_path):
    unit = render_unit('pairing-ngrok.service.j2', __pairing_ngrok_agent=sys.executable,
                       __pairing_ngrok_config='/etc/ngrok/pairing.yml', __pairing_ngrok_service='pairing-ngrok')
    for setting in ('DynamicUser=yes', 'LoadCredential=ngrok.yml:/etc/ngrok/pairing.yml', 'CapabilityBoundingSet=',
                    *SANDBOX, 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK', 'Restart=always',
                    'SystemCallFilter=@system-service', 'StateDirectory=pairing-ngrok',
                    'ExecStart=%s start --all --config ${CREDENTIALS_DIRECTORY}/ngrok.yml --log stdout '
                    '--log-format json' % sys.executable):
        assert setting in settings(unit)
    assert not [line for line in settings(unit) if line.startswith(('User=', 'Group=', 'SupplementaryGroups='))]
    verify(tmp_path, 'pairing-ngrok.service', unit)


def test_the_ssh_tunnel_runs_in_the_same_sandbox(tmp_path):
    unit = render_unit('pairing-tunnel.service.j2', pairing_relay_host='relay.example', pairing_relay_port=2222,
                       pairing_relay_ssh_port=22, pairing_relay_user='pairing-relay',
                       __pairing_tunnel_listen='127.0.0.1:922', __pairing_tunnel_key='/etc/pairing/tunnel_ed25519',
                       __pairing_relay_known_hosts='/etc/pairing/relay_known_hosts',
                       __pairing_tunnel_sshd_service='pairing-sshd')
    assert [line for line in settings(unit) if line in SANDBOX] == SANDBOX
    assert '\nPrivateTmp=yes\n\n[Install]\n' in unit
    (tmp_path / 'pairing-sshd.service').write_text('[Service]\nExecStart=/bin/true\n')  # what BindsTo= names
    verify(tmp_path, 'pairing-tunnel.service', unit)
