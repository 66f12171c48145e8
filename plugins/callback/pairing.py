# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Short screen output for the pairing playbooks; the default callback's at -v and above."""

DOCUMENTATION = r"""
name: pairing
type: stdout
short_description: A few plain lines instead of a banner per task
version_added: 0.1.0
description:
  - The output of C(make pair), C(make status) and C(make unpair). Use it with any playbook by
    setting E(ANSIBLE_STDOUT_CALLBACK=pairing.tmux.pairing).
  - One line per play (its name and hosts), one line per changed task, and one line per failed
    or unreachable host - the module's C(msg), its first line only (for a loop, the first failed
    item's). The result of a task with C(no_log) is never printed, only that it failed.
  - The C(msg) of M(ansible.builtin.debug) as plain lines, without quotes, a list one line per
    element (other values, and C(var), as JSON). When the play has several hosts, each host's
    lines come under its name.
  - Ok and skipped tasks print nothing. Warnings and deprecations print as Ansible prints them.
  - When a task failed or a host was unreachable, a last line counts changed and failed tasks;
    otherwise the output ends with the last task's lines (the block C(make pair) ends with).
  - With C(-v) or more the output is exactly the default callback's (P(ansible.builtin.default#callback)).
author: pairing.tmux contributors (@pairing-tmux)
extends_documentation_fragment:
  - ansible.builtin.default_callback
  - ansible.builtin.result_format_callback
requirements:
  - set as the stdout callback, for example E(ANSIBLE_STDOUT_CALLBACK=pairing.tmux.pairing)
"""

import functools

from ansible import constants as C
from ansible.plugins.callback.default import CallbackModule as DefaultCallback
from ansible.utils.fqcn import add_internal_fqcns

DEBUG_ACTIONS = add_internal_fqcns(('debug',))


def default_when_verbose(method):
    """At -v and above the default callback's method of the same name runs instead."""

    @functools.wraps(method)
    def dispatch(self, *args, **kwargs):
        if self._display.verbosity >= 1:
            return getattr(super(CallbackModule, self), method.__name__)(*args, **kwargs)
        return method(self, *args, **kwargs)

    return dispatch


def first_line(text):
    lines = str(text).strip().splitlines()
    return lines[0] if lines else ''


def is_censored(said):
    """A no_log result: Ansible kept only its status and a 'censored' note."""
    return bool(said.get('_ansible_no_log')) or 'censored' in said


def task_name(result):
    """The task's own name, without the role's (2.21's result.task_name has it)."""
    return result.task.name or result.task.action


class CallbackModule(DefaultCallback):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'pairing.tmux.pairing'

    def __init__(self):
        super().__init__()
        self._several_hosts = False
        # (task, host) pairs whose change was printed already: --diff reports it before the result.
        self._changes_reported = set()
        # Why a loop failed, by (task, host): its first failed item's reason (ansible-core 2.21
        # no longer marks the failed items in the loop's own result).
        self._loop_failures = {}

    @default_when_verbose
    def v2_playbook_on_start(self, playbook):
        pass

    @default_when_verbose
    def v2_playbook_on_play_start(self, play):
        # The inventory, already narrowed to this play's batch, knows which hosts it runs on; when
        # none, the pattern names what matched nothing.
        hosts = [host.name for host in play.get_variable_manager()._inventory.get_hosts(play.hosts, order=play.order)]
        self._several_hosts = len(hosts) > 1
        check_mode = ' (check mode)' if play.check_mode else ''
        self._display.display('%s on %s%s' % (play.get_name().strip(), ', '.join(hosts or play.hosts), check_mode))

    @default_when_verbose
    def v2_playbook_on_task_start(self, task, is_conditional):
        pass

    @default_when_verbose
    def v2_playbook_on_handler_task_start(self, task):
        pass

    @default_when_verbose
    def v2_playbook_on_include(self, included_file):
        pass

    @default_when_verbose
    def v2_playbook_on_no_hosts_remaining(self):
        pass

    @default_when_verbose
    def v2_runner_on_ok(self, result):
        self._handle_warnings(result.result)
        if result.task.action in DEBUG_ACTIONS:
            self._print_debug(result)
        elif result.result.get('changed'):
            self._report_change(result)

    @default_when_verbose
    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._handle_warnings(result.result)
        why = self._loop_failures.pop(self._task_on_host(result), None) or self._why_failed(result)
        if not ignore_errors:
            self._report_failure(result, why)

    @default_when_verbose
    def v2_runner_on_unreachable(self, result):
        self._handle_warnings(result.result)
        if not result.task.ignore_unreachable:
            self._report_failure(result, self._why_failed(result))

    @default_when_verbose
    def v2_runner_on_skipped(self, result):
        pass

    # A loop's items: their warnings only; the task's own result reports the loop as a whole.
    @default_when_verbose
    def v2_runner_item_on_ok(self, result):
        self._handle_warnings(result.result)

    @default_when_verbose
    def v2_runner_item_on_failed(self, result):
        self._handle_warnings(result.result)
        self._loop_failures.setdefault(self._task_on_host(result), self._why_failed(result))

    @default_when_verbose
    def v2_runner_item_on_skipped(self, result):
        pass

    # Polling (until/retries, async) is not progress a person needs to read.
    @default_when_verbose
    def v2_runner_retry(self, result):
        pass

    @default_when_verbose
    def v2_runner_on_async_poll(self, result):
        pass

    @default_when_verbose
    def v2_runner_on_async_ok(self, result):
        pass

    @default_when_verbose
    def v2_runner_on_async_failed(self, result):
        pass

    @default_when_verbose
    def v2_on_file_diff(self, result):
        if result.result.get('changed'):
            self._report_change(result)
        # The default callback's diff, without the task banner it prints first.
        self._last_task_banner = result.task._uuid
        super().v2_on_file_diff(result)

    @default_when_verbose
    def v2_playbook_on_stats(self, stats):
        # Only after a failure: a run that went well ends with its last lines, make pair's block.
        totals = [stats.summarize(host) for host in stats.processed]
        changed = sum(total['changed'] for total in totals)
        failed = sum(total['failures'] for total in totals)
        unreachable = sum(total['unreachable'] for total in totals)
        if failed or unreachable:
            line = 'changed %d, failed %d' % (changed, failed)
            if unreachable:
                line += ', unreachable %d' % unreachable
            self._display.display(line, color=C.COLOR_ERROR)

    def _print_debug(self, result):
        if is_censored(result.result):
            return
        msg = result.result.get('msg')
        if isinstance(msg, str):
            lines = msg.splitlines()
        elif isinstance(msg, list) and all(isinstance(line, str) for line in msg):
            lines = msg
        else:  # a var, or a msg of another type: as the default callback shows it
            self._clean_results(result.result, result.task.action)
            lines = self._dump_results(result.result).splitlines()
        if self._several_hosts:
            self._display.display('%s:' % result.host.get_name())
            lines = ['  ' + line for line in lines]
        for line in lines:
            self._display.display(line)

    def _report_change(self, result):
        change = self._task_on_host(result)
        if change in self._changes_reported:
            return
        self._changes_reported.add(change)
        where = ' on %s' % result.host.get_name() if self._several_hosts else ''
        self._display.display('  changed%s: %s' % (where, task_name(result)), color=C.COLOR_CHANGED)

    def _report_failure(self, result, why):
        self._display.display('%s: %s' % (result.host.get_name(), why), color=C.COLOR_ERROR,
                              stderr=self.get_option('display_failed_stderr'))

    @staticmethod
    def _task_on_host(result):
        return result.task._uuid, result.host.get_name()

    @staticmethod
    def _why_failed(result):
        """The module's msg, its first line; never anything of a no_log result."""
        if is_censored(result.result):
            return '%s failed (its output is hidden: no_log)' % task_name(result)
        return first_line(result.result.get('msg', '')) or '%s failed' % task_name(result)
