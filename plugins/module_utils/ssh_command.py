# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ssh command line guests are shown, for every way in (LAN, relay, ngrok): the host role's
closing block (through the ssh_command filter) and ngrok_tunnel_info's ``ssh_command``."""


def ssh_command(host, user, port=22):
    """``ssh -t [-p PORT] USER@HOST``: ``-t`` because the attach wrapper needs a terminal, ``-p``
    only for another port than ssh's own."""
    port = int(port)
    return 'ssh -t%s %s@%s' % ('' if port == 22 else ' -p %d' % port, user, host)
