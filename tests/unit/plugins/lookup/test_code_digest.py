"""pairing.tmux.code_digest: any change of the collection's code is a new digest."""

import shutil

from ansible_collections.pairing.tmux.plugins.lookup.code_digest import _ROOT, code_digest


def copy_of_the_code(tmp_path):
    for top in ('roles', 'plugins'):
        shutil.copytree('%s/%s' % (_ROOT, top), tmp_path / top, ignore=shutil.ignore_patterns('__pycache__'))
    return tmp_path


def test_the_same_code_has_the_same_digest_and_compiled_python_does_not_count(tmp_path):
    root = copy_of_the_code(tmp_path)
    (root / 'plugins' / 'filter' / '__pycache__').mkdir()
    (root / 'plugins' / 'filter' / '__pycache__' / 'guests.cpython-311.pyc').write_bytes(b'compiled')
    assert code_digest(str(root)) == code_digest(_ROOT)


def test_an_edited_template_a_new_file_or_a_renamed_one_changes_it(tmp_path):
    root = copy_of_the_code(tmp_path)
    original = code_digest(str(root))
    template = root / 'roles' / 'host' / 'templates' / 'sshd_pairing.conf.j2'
    template.write_text(template.read_text() + '# one more line\n')
    edited = code_digest(str(root))
    (root / 'roles' / 'host' / 'files' / 'new').write_text('')
    added = code_digest(str(root))
    (root / 'roles' / 'host' / 'files' / 'new').rename(root / 'roles' / 'host' / 'files' / 'renamed')
    assert len({original, edited, added, code_digest(str(root))}) == 4
