# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: every task result of a run, as JSON, for tests to assert on."""

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: recorder
type: aggregate
short_description: Record every task result to the JSON file named by RECORDER_FILE
description:
  - Used by this collection's own tests (tests/ansible_run.py), not shipped for use.
requirements:
  - the RECORDER_FILE environment variable
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'recorder'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.records = []

    def _record(self, status, result):
        self.records.append({'host': result._host.get_name(), 'task': result._task.get_name(), 'status': status,
                             'result': result._result})

    def v2_runner_on_ok(self, result):
        self._record('changed' if result._result.get('changed') else 'ok', result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record('failed', result)

    def v2_runner_on_skipped(self, result):
        self._record('skipped', result)

    def v2_runner_on_unreachable(self, result):
        self._record('unreachable', result)

    def v2_playbook_on_stats(self, stats):
        with open(os.environ['RECORDER_FILE'], 'w') as handle:
            json.dump(self.records, handle, default=str)
