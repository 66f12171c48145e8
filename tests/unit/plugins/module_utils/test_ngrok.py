"""ngrok agent configuration and API parsing (the agent itself: tests/ngrok/ngrok on test hosts)."""

import json

import pytest

from ansible_collections.pairing.tmux.plugins.module_utils.ngrok import (
    agent_config,
    mask,
    public_url,
    render,
    split_tcp_url,
)


def test_v3_config_for_one_tcp_endpoint():
    config = json.loads(render(agent_config('tok3n', 'pairing-ssh', 22)))
    assert config == {
        'version': 3,
        'agent': {'authtoken': 'tok3n', 'web_addr': '127.0.0.1:4040', 'update_check': False},
        'endpoints': [{'name': 'pairing-ssh', 'url': 'tcp://', 'upstream': {'url': '22'}}],
    }


def test_reserved_address_and_region():
    config = agent_config('t', 'x', '2222', url='tcp://1.tcp.ngrok.io:20000', region='eu', web_addr='127.0.0.1:4041')
    assert config['endpoints'][0]['url'] == 'tcp://1.tcp.ngrok.io:20000'
    assert config['agent']['region'] == 'eu' and config['agent']['web_addr'] == '127.0.0.1:4041'


def test_rendering_is_stable_and_masking_hides_the_token():
    first, second = render(agent_config('s3cret-token', 'x', 22)), render(agent_config('s3cret-token', 'x', 22))
    assert first == second
    assert 's3cret-token' not in mask(first) and '"authtoken": "********"' in mask(first)
    hand_written = 'version: 3\nagent:\n  authtoken: 2abcDEF_ghi\n  region: eu\n'
    assert mask(hand_written) == 'version: 3\nagent:\n  authtoken: ********\n  region: eu\n'


TUNNELS = {'tunnels': [{'name': 'web', 'public_url': 'https://a.ngrok.app', 'proto': 'https'},
                       {'name': 'pairing-ssh', 'public_url': 'tcp://0.tcp.ngrok.io:12345', 'proto': 'tcp'}],
           'uri': '/api/tunnels'}
ENDPOINTS = {'endpoints': [{'id': 'ep_1', 'name': 'pairing-ssh', 'url': 'tcp://4.tcp.eu.ngrok.io:23456',
                            'upstream': {'url': '22', 'protocol': ''}}], 'uri': '/api/endpoints'}


def test_public_url_from_either_api_shape():
    assert public_url('pairing-ssh', tunnels=TUNNELS) == 'tcp://0.tcp.ngrok.io:12345'
    assert public_url('pairing-ssh', endpoints=ENDPOINTS) == 'tcp://4.tcp.eu.ngrok.io:23456'
    assert public_url('pairing-ssh', tunnels=TUNNELS, endpoints=ENDPOINTS) == 'tcp://0.tcp.ngrok.io:12345'


@pytest.mark.parametrize('tunnels, endpoints', [
    ({'tunnels': []}, {'endpoints': []}),  # an agent that is starting
    (None, None),                          # an API that does not answer
    ({'tunnels': [{'name': 'other', 'public_url': 'tcp://h:1'}]}, None),
    ({'tunnels': [{'name': 'pairing-ssh', 'public_url': 'https://h.ngrok.app'}]}, None),
])
def test_no_address_until_the_endpoint_is_up(tunnels, endpoints):
    assert public_url('pairing-ssh', tunnels, endpoints) is None


def test_split_tcp_url():
    assert split_tcp_url('tcp://0.tcp.ngrok.io:12345') == ('0.tcp.ngrok.io', 12345)
    for bad in ('https://x:1', 'tcp://x', 'tcp://x:0', 'tcp://x:70000', 'tcp://x y:1', None):
        with pytest.raises(ValueError, match='not a TCP address'):
            split_tcp_url(bad)
