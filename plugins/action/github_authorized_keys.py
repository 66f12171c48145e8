# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller half of pairing.tmux.github_authorized_keys: fetch and validate, then edit.

The target never reaches the network: this plugin fetches every listed user's keys here
(once per user per playbook run, whatever the number of hosts and tasks), validates every
line, and hands the module only validated keys.  When any user's keys cannot be had, the
task fails naming them and the module does not run: the file stays exactly as it was.
"""

from ansible import constants as C
from ansible.plugins.action import ActionBase

from ansible_collections.pairing.tmux.plugins.module_utils.managed_keys import (
    REQUIRED_ONE_OF,
    GuestError,
    argument_spec,
    guests_from_specs,
    keys_by_guest,
)
from ansible_collections.pairing.tmux.plugins.plugin_utils.key_sources import KeySourceError, KeySources

# Options only this plugin uses: the token never travels to the target.
CONTROLLER_ONLY = ('allow_http', 'api_token', 'github_url', 'gitlab_url', 'timeout', 'validate_certs')


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.validate_argument_spec(argument_spec=argument_spec(), required_one_of=REQUIRED_ONE_OF)[1]
        try:
            # To validate and to know whom to fetch.  The module gets the guests as given and
            # works out each relative expires itself, from the target's clock and time zone.
            guests = guests_from_specs(args['guests'])
            inline = keys_by_guest(args['keys'])
        except GuestError as error:
            return dict(result, failed=True, msg=str(error))

        if args['state'] == 'present':
            sources = KeySources(C.DEFAULT_LOCAL_TMP, github_url=args['github_url'], gitlab_url=args['gitlab_url'],
                                 api_token=args['api_token'], timeout=args['timeout'],
                                 validate_certs=args['validate_certs'], allow_http=args['allow_http'])
            fetched, errors = {}, []
            for guest in guests:
                if guest.name in inline:
                    continue
                try:
                    fetched[guest.name] = [key.render() for key in sources.keys(guest, tuple(args['key_types']))]
                except KeySourceError as error:
                    errors.append(str(error))
            if errors:
                return dict(result, failed=True, changed=False, msg='; '.join(errors) + ' - nothing was changed')
            args['keys'] = dict(inline, **fetched)

        module_args = {name: value for name, value in self._task.args.items() if name not in CONTROLLER_ONLY}
        if 'keys' in args and args['keys'] is not None:
            module_args['keys'] = args['keys']
        result.update(self._execute_module(module_name='pairing.tmux.github_authorized_keys',
                                           module_args=module_args, task_vars=task_vars))
        return result
