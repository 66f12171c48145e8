# Copyright: (c) 2026, pairing.tmux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fetch guests' public keys on the controller, once per user per playbook run.

Where keys come from: ``{github_url}/{user}.keys``; the REST API ``/users/{user}/keys``
when an API token is given (api.github.com for github.com, ``{github_url}/api/v3`` for
GitHub Enterprise); ``{gitlab_url}/{user}.keys``; or any URL.  Every answer that is not a
clean list of valid keys is an error for that user, never an empty key list.

Keys travel over https only: over plain http anyone on the path could add a key of their
own.  An http:// source, or a redirect to one, is refused unless ``allow_http`` is set.
"""

import datetime
import errno
import fcntl
import hashlib
import http.client
import json
import os
import socket
import ssl
from urllib.parse import urlsplit

try:
    import requests
    from urllib3.exceptions import ConnectTimeoutError
except ImportError:  # the action plugin reports it; sanity's import test has no requests
    requests = None

from ansible_collections.pairing.tmux.plugins.module_utils.authorized_keys import KeyLineError, parse_line

MAX_BODY = 1024 * 1024
USER_AGENT = 'pairing.tmux (+https://github.com/pairing-tmux/pairing.tmux)'
PLAIN_HTTP = ('plain http:// is refused (anyone on the path could add a key): use https://, or set '
              'allow_http: true (the host role: pairing_allow_http) for a network you trust')
PROXY_SETTINGS = 'check the proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)'


class KeySourceError(Exception):
    """A user's keys could not be had; the message names the user and the reason."""


class KeySources:
    """Where each guest's keys live, and a run-wide cache of what those places answered.

    ``cache_dir`` is private to one playbook run (Ansible's local temp dir, made by the
    main process before it forks its workers), so every host and task of the run shares
    one answer per URL, and a failed answer fails every host the same way.
    """

    def __init__(self, cache_dir, github_url='https://github.com', gitlab_url='https://gitlab.com',
                 api_token=None, timeout=10, validate_certs=True, allow_http=False):
        self.cache_dir = os.path.join(cache_dir, 'pairing-tmux-keys')
        self.github_url = github_url.rstrip('/')
        self.gitlab_url = gitlab_url.rstrip('/')
        self.api_token = api_token
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.allow_http = allow_http

    def url(self, guest):
        """(url, answer is GitHub API JSON) for a ``Guest``."""
        if guest.kind == 'gitlab':
            return '%s/%s.keys' % (self.gitlab_url, guest.name), False
        if guest.kind == 'url':
            return guest.source, False
        if self.api_token:
            return '%s/users/%s/keys' % (self._github_api(), guest.name), True
        return '%s/%s.keys' % (self.github_url, guest.name), False

    def _github_api(self):
        if self.github_url in ('https://github.com', 'https://www.github.com'):
            return 'https://api.github.com'
        return self.github_url + '/api/v3'

    def keys(self, guest, key_types):
        """The guest's keys (AuthorizedKey, in the order served); KeySourceError otherwise."""
        url, is_api = self.url(guest)
        where = '%s (%s)' % (guest.name, url)
        refused = self.refused(url)
        if refused:
            raise KeySourceError('user %s: %s' % (where, refused))
        answer = self._cached(url, is_api)
        if 'error' in answer:
            raise KeySourceError('user %s: %s' % (where, answer['error']))
        if is_api:
            lines = _api_key_lines(answer['body'])
            if lines is None:
                raise KeySourceError('user %s: the API did not answer with a list of keys' % where)
        else:
            lines = [line for line in answer['body'].split('\n') if line.strip()]
        keys = []
        for number, line in enumerate(lines, 1):
            try:
                keys.append(parse_line(line.rstrip('\r'), key_types=key_types))
            except KeyLineError as error:
                raise KeySourceError('user %s: key %d: %s' % (where, number, error)) from None
        if not keys:
            raise KeySourceError('user %s: no public keys are published there (the user must add one)' % where)
        return keys

    def refused(self, url):
        """Why keys may not come from ``url`` (the one rule for every source), or None."""
        scheme = urlsplit(url).scheme.lower()
        if scheme == 'https' or (scheme == 'http' and self.allow_http):
            return None
        if scheme == 'http':
            return PLAIN_HTTP
        return 'not an https:// URL: keys come from https:// sources only'

    def _cached(self, url, is_api):
        """What ``url`` answered in this run: {'body': text} or {'error': reason}.  The lock
        makes concurrent workers wait for the first one's request instead of sending their own."""
        os.makedirs(self.cache_dir, mode=0o700, exist_ok=True)
        # allow_http too: an answer that followed a redirect to http is no answer for a task without it.
        name = hashlib.sha256(('%s\n%s\n%s' % (url, bool(self.api_token), self.allow_http)).encode()).hexdigest()
        path = os.path.join(self.cache_dir, name + '.json')
        with open(path + '.lock', 'a') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if os.path.exists(path):
                with open(path) as handle:
                    return json.load(handle)
            try:
                answer = {'body': self._get(url, is_api)}
            except KeySourceError as error:
                answer = {'error': str(error)}
            with open(path + '.tmp', 'w') as handle:
                json.dump(answer, handle)
            os.rename(path + '.tmp', path)
            return answer

    def _get(self, url, is_api):
        if requests is None:
            raise KeySourceError('the Python library requests is not installed on the controller '
                                 '(pip install requests)')
        headers = {'User-Agent': USER_AGENT,
                   'Accept': 'application/vnd.github+json' if is_api else 'text/plain'}
        if is_api:
            headers['Authorization'] = 'Bearer %s' % self.api_token
        try:
            with requests.Session() as session:
                # requests follows redirects, and would follow one from https to http: every
                # request the session sends, a redirect's too, passes the same rule first.
                session.mount('http://', _Checked(self, session.get_adapter('http://')))
                session.mount('https://', _Checked(self, session.get_adapter('https://')))
                with session.get(url, headers=headers, timeout=self.timeout, verify=self.validate_certs,
                                 stream=True) as response:
                    _check_status(response)
                    body = _read_limited(response)
                    content_type = response.headers.get('Content-Type', '')
        except requests.exceptions.RequestException as error:
            raise KeySourceError(_network_failure(error, self.timeout)) from None
        try:
            text = body.decode('utf-8')
        except UnicodeDecodeError:
            raise KeySourceError('the answer is not UTF-8 text') from None
        if 'html' in content_type.lower() or text.lstrip().startswith('<'):
            raise KeySourceError('got an HTML page, not keys (a login page or a wrong URL?)')
        return text


class _Checked:
    """A transport adapter that sends a request only to a URL the sources' rule allows."""

    def __init__(self, sources, adapter):
        self.sources, self.adapter = sources, adapter

    def send(self, request, **kwargs):
        refused = self.sources.refused(request.url)
        if refused:
            raise KeySourceError('refused the redirect to %s: %s' % (request.url, refused))
        return self.adapter.send(request, **kwargs)

    def close(self):
        self.adapter.close()


def _check_status(response):
    if response.status_code == 200:
        return
    if response.status_code in (403, 429) and (response.headers.get('X-RateLimit-Remaining') == '0'
                                               or response.status_code == 429):
        reset = response.headers.get('X-RateLimit-Reset', '')
        when = ''
        if reset.isdigit():
            when = ' until %s UTC' % datetime.datetime.fromtimestamp(
                int(reset), datetime.timezone.utc).strftime('%Y-%m-%d %H:%M')
        raise KeySourceError('rate-limited (HTTP %d)%s: set api_token to use the REST API '
                             '(5000 requests/hour instead of 60), or wait' % (response.status_code, when))
    if response.status_code == 404:
        raise KeySourceError('not found (HTTP 404): is the user name right?')
    if response.status_code in (401, 403):
        raise KeySourceError('access refused (HTTP %d): check api_token' % response.status_code)
    raise KeySourceError('the server answered HTTP %d %s' % (response.status_code, response.reason or ''))


def _read_limited(response):
    body = b''
    for chunk in response.iter_content(chunk_size=65536):
        body += chunk
        if len(body) > MAX_BODY:
            raise KeySourceError('the answer is larger than %d bytes: not a key list' % MAX_BODY)
    return body


def _api_key_lines(body):
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, list) or not all(isinstance(item, dict) and isinstance(item.get('key'), str)
                                             for item in data):
        return None
    return [item['key'] for item in data]


def _network_failure(error, timeout):
    """'what failed: what to do' for a request that got no answer, or only part of one.

    Judged by the types of the error and of the errors it was raised from (requests wraps
    urllib3's, which wrap the socket's and ssl's), never by their text: urllib3's names its
    connection pool and retries, and says nothing a user can act on.
    """
    causes = []
    while error is not None:
        causes.append(error)
        error = error.__cause__ or error.__context__
    known = _what_failed(causes, timeout)
    if isinstance(causes[0], requests.exceptions.ProxyError):
        return 'the proxy failed%s: %s' % (' (%s)' % known[0] if known else '', PROXY_SETTINGS)
    what, to_do = known or ('the request failed (%s)' % type(causes[0]).__name__, 'check the URL, then try again')
    return '%s: %s' % (what, to_do)


def _what_failed(causes, timeout):
    """(what failed, what to do) for the chain of errors ``causes``, outermost first; None if unknown."""

    def found(kind):
        return next((cause for cause in causes if isinstance(cause, kind)), None)

    if isinstance(causes[0], requests.exceptions.TooManyRedirects):
        return ('too many redirects (more than %d)' % requests.models.DEFAULT_REDIRECT_LIMIT,
                'check the URL, which redirects in a loop')
    certificate = found(ssl.SSLCertVerificationError)
    if certificate:
        # OpenSSL's reason is short and tells the fixes apart: "certificate has expired" (the
        # clock), "self-signed certificate" or "unable to get local issuer certificate" (the CA).
        return ('TLS certificate not trusted (%s)' % certificate.verify_message,
                'check the clock and the CA bundle (REQUESTS_CA_BUNDLE)')
    handshake = found(ssl.SSLError)
    if handshake:
        return ('TLS handshake failed (%s)' % (handshake.reason or type(handshake).__name__),
                'is the server https on that port? a proxy or firewall in between may interfere')
    lookup = found(socket.gaierror)
    if lookup:
        if lookup.errno == socket.EAI_NONAME:
            return 'DNS name not found', 'check the host name in the URL, and your network'
        return 'DNS lookup failed', 'check your network and its DNS server, then try again'
    if found(ConnectionRefusedError):
        return 'connection refused', 'is the server up, and the port in the URL right?'
    if found(http.client.RemoteDisconnected):  # a ConnectionResetError too, but nothing was reset
        return 'the server closed the connection without answering', "try again; is the URL's port an HTTP server?"
    if found(ConnectionResetError):
        return 'connection reset', 'try again; if it persists, a proxy or firewall in between may be cutting it'
    if found(TimeoutError):
        if found(ConnectTimeoutError):
            return 'no connection within %s s (timeout)' % timeout, 'is the server up? check your network and firewall'
        return 'no answer within %s s (timeout)' % timeout, 'try again later, or raise timeout'
    if found(http.client.IncompleteRead):
        return 'the answer broke off', 'try again'
    # requests' own errors are OSErrors too, without an errno
    failed = next((cause for cause in causes if isinstance(cause, OSError) and cause.errno in errno.errorcode), None)
    if failed:
        return 'network error (%s)' % errno.errorcode[failed.errno], 'check your network'
    return None
