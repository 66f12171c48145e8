"""The guests filter: what people type after -e pair= becomes github_authorized_keys user specs."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pairing.tmux.plugins.filter.guests import guests


@pytest.mark.parametrize('typed', ['alice,bob', 'alice, bob', ' alice bob ', ['alice', 'bob']])
def test_names_in_any_spelling(typed):
    assert guests(typed) == [{'name': 'alice', 'read_only': False}, {'name': 'bob', 'read_only': False}]


def test_nothing_is_no_user():
    assert guests('') == guests(None) == guests([]) == []


def test_defaults_apply_only_where_an_entry_sets_nothing():
    assert guests(['carol', {'name': 'dan', 'read_only': False, 'expires': '2027-01-01'}], True, '2026-12-31') == [
        {'name': 'carol', 'read_only': True, 'expires': '2026-12-31'},
        {'name': 'dan', 'read_only': False, 'expires': '2027-01-01'},
    ]


def test_other_shapes_are_refused():
    with pytest.raises(AnsibleFilterError, match='must be a user name or a dict with a name'):
        guests([42])


def test_names_and_durations_pass_through_as_typed():
    # The module makes names canonical and turns durations into times on the target.
    assert guests('Alice', False, '1h30m') == [{'name': 'Alice', 'read_only': False, 'expires': '1h30m'}]
