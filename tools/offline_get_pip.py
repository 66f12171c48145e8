"""Offline stand-in for the ``get-pip.py`` that ansible-test downloads.

ansible-test bootstraps pip into each sanity test's virtual environment with a get-pip
script fetched from a CI file host; machines that reach only the package index cannot
fetch it.  ``make sanity`` puts this file where ansible-test caches that script.  It does
the same job: pip from the wheel bundled with Python (ensurepip), then the packages
ansible-test asked for (its exact pip version among them) from the package index.
"""

import subprocess
import sys

# get-pip.py's own flags; plain pip does not know them.
GET_PIP_ONLY = ('--no-setuptools', '--no-wheel')


def main():
    # Separate processes: ensurepip hides the machine's pip configuration (index, CA bundle)
    # from the process it runs in, and the install must see it.
    subprocess.check_call([sys.executable, '-m', 'ensurepip'])
    packages = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install', '--upgrade', *packages]))


if __name__ == '__main__':
    main()
