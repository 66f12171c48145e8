"""pairing.tmux.upstream_version: what the preflight compares."""

import pytest

from ansible_collections.pairing.tmux.plugins.filter.upstream_version import upstream_version


@pytest.mark.parametrize('debian, upstream', [
    ('1:10.0p1-7', '10.0'),
    ('1:9.2p1-2+deb12u10', '9.2'),
    ('3.3a-3', '3.3'),
    ('3.5a-3', '3.5'),
    ('none', '0'),
    ('', '0'),
    (None, '0'),
])
def test_debian_versions(debian, upstream):
    assert upstream_version(debian) == upstream
