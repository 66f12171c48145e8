# pairing.tmux: one entry point for people and CI.  `make help` lists the targets.

# The newest python3.1x >= 3.11 on PATH that really runs (pyenv shims of inactive versions
# do not); override with `make PYTHON=/path/to/python3.12 ...`.
PYTHON ?= $(shell for py in python3.14 python3.13 python3.12 python3.11 python3; do \
	$$py -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { command -v $$py; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
BUILD := .build
# Ansible finds collection code only under ansible_collections/<namespace>/<name>.
COLLECTIONS := $(BUILD)/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/pairing/tmux
SANITY_TREE := $(BUILD)/sanity/ansible_collections/pairing/tmux
DIST := $(BUILD)/dist
# The venv's tools first, for the recipes and for the tools they start (ansible-test, antsibull).
export PATH := $(CURDIR)/$(BIN):$(PATH)
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
ARTIFACT := $(DIST)/pairing-tmux-$(VERSION).tar.gz

# What the tests need from the system (Debian/Ubuntu package names).
SYSTEM_PACKAGES := git make python3-venv openssh-client tmux shellcheck debootstrap systemd-container iproute2
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: help pair status unpair demo setup system-deps test sanity-beside suites lint sanity units pytest molecule testhosts benchmark-keys build changelog clean

help:
	@echo 'make pair PAIR=alice[,bob] [READ_ONLY=carol] [FOR=2h] [TUNNEL=ngrok]  let GitHub users into the tmux session on this box'
	@echo 'make status       how guests connect, who is connected'
	@echo 'make unpair PAIR=alice|all [TUNNEL=down]       revoke, and end their connections'
	@echo 'make demo         the whole story on throwaway test hosts, in about a minute (root)'
	@echo 'make setup        create $(VENV) with pinned tools (done by every target that needs it)'
	@echo 'make system-deps  apt-get install what the tests need: $(SYSTEM_PACKAGES)'
	@echo 'make test         everything CI runs: lint, sanity, every pytest suite in tests/, molecule'
	@echo 'make lint         ruff, yamllint, ansible-lint (production profile), changelog lint'
	@echo 'make sanity       ansible-test sanity with ansible-core of $(VENV) and of the newest controller (RELEASES)'
	@echo 'make pytest       every pytest suite in tests/, per release in RELEASES="$(RELEASES)", in LANES=$(LANES) workers each (root)'
	@echo 'make units        the unit tests alone (tests/unit)'
	@echo 'make molecule     every molecule scenario in extensions/molecule/, per release in RELEASES'
	@echo "make testhosts    the test-host harness, e.g. make testhosts ARGS='up a b' (list, ssh, down --all)"
	@echo 'make benchmark-keys  github_authorized_keys against ansible.posix.authorized_key (benchmarks/keys.md)'
	@echo 'make build        the collection artifact in $(DIST)/'
	@echo 'make changelog    regenerate CHANGELOG.md from changelogs/'
	@echo 'make clean        remove $(BUILD) and $(VENV)'

setup: $(BIN)/.installed

# Every requirements file the venv reads (requirements-dev.txt includes the others with -r).
$(BIN)/.installed: requirements.txt requirements-controller.txt requirements-dev.txt
	@test -n "$(PYTHON)" || { echo 'error: no python3 >= 3.11 on PATH; install python3, or run make PYTHON=/path/to/python3.11' >&2; exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { echo 'error: $(PYTHON) cannot create a venv; run: make system-deps (installs python3-venv)' >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

system-deps:
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $(SYSTEM_PACKAGES)

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

# pytest exits 5 when it collects nothing: for this project that is a broken suite.
PYTEST = pytest $(1); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo 'error: pytest collected no tests in $(1)' >&2; fi; exit $$rc

# The controller versions the README promises, oldest and newest: bookworm's tests drive this
# venv's ansible-core (2.19 on Python 3.11), trixie's the newest, which needs Python >= 3.12
# (from PATH, else the newest pyenv version).
NEWEST_PYTHON ?= $(shell for py in python3.14 python3.13 python3.12 \
	$$(pyenv root 2>/dev/null)/versions/$$(pyenv versions --bare 2>/dev/null | grep -E '^3\.1[2-9]' | sort -rV | head -n1)/bin/python3; do \
	$$py -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { command -v $$py; break; }; done)
NEWEST_CONTROLLER := $(BUILD)/controller-newest
$(NEWEST_CONTROLLER)/.installed: requirements.txt requirements-controller.txt
	@test -n "$(NEWEST_PYTHON)" || { echo 'error: the newest ansible-core needs python >= 3.12 (apt, or pyenv install 3.12); or run with RELEASES=bookworm' >&2; exit 1; }
	rm -rf $(NEWEST_CONTROLLER) && $(NEWEST_PYTHON) -m venv $(NEWEST_CONTROLLER)
	$(NEWEST_CONTROLLER)/bin/python -m pip install --quiet -r requirements-controller.txt
	@touch $@

# Test hosts of each Debian release the roles support, side by side: RELEASES=trixie for one.
RELEASES ?= bookworm trixie
EACH_RELEASE := CONTROLLER_trixie=$(CURDIR)/$(NEWEST_CONTROLLER)/bin tools/each-release $(RELEASES) --
CONTROLLERS := $(if $(filter trixie,$(RELEASES)),$(NEWEST_CONTROLLER)/.installed)
# Each release's pytest runs in LANES workers (pytest-xdist), a test module whole on one worker
# with test hosts of its own (tests/conftest.py): a module that waits (a grant expiring, a relay
# that vanished) leaves the cores to another. Modules start in the order of tests/.
LANES ?= 2
PYTEST_ALL := pytest -n $(LANES) --dist loadfile --no-loadscope-reorder tests
MOLECULE_ALL := molecule test --all

# Lint first (seconds, and it fails fast); then sanity beside the suites, each release's pytest
# and then its molecule scenarios (also when pytest failed): sanity mostly installs and runs
# linters while the suites wait on test hosts. Sanity's lines start with [sanity].
test: lint $(COLLECTION_LINK) $(CONTROLLERS)
	$(MAKE) --no-print-directory -j2 sanity-beside suites

sanity-beside:
	bash -o pipefail -c '$(MAKE) --no-print-directory sanity 2>&1 | sed -u "s/^/[sanity] /"'

suites: setup $(COLLECTION_LINK) $(CONTROLLERS)
	$(EACH_RELEASE) sh -c '$(PYTEST_ALL); suites=$$?; $(MOLECULE_ALL) && exit $$suites'

pytest: setup $(COLLECTION_LINK) $(CONTROLLERS)
	$(EACH_RELEASE) $(PYTEST_ALL)

lint: setup $(COLLECTION_LINK)
	ruff check .
	yamllint --strict .
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/$(COLLECTIONS) ansible-lint
	antsibull-changelog lint

# ansible-test wants the collection's real path to end in ansible_collections/pairing/tmux,
# so it runs on a copy of the files git knows (tracked, or new and not ignored), in a git
# repository of its own so that it lists exactly those.  Its test venvs get pip from
# tools/offline_get_pip.py instead of a download from a host outside the package index
# (read when the recipe runs: on a fresh clone the venv that names pip's version comes first).
# It runs once per controller the README promises: this venv's ansible-core (2.19) and, with
# trixie in RELEASES, the newest (.build/controller-newest, Python >= 3.12), each on its Python.
ANSIBLE_TEST_PIP = $(shell sed -n "s/^ *pip='\([0-9.]*\)',/\1/p" \
	$(1)/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py 2>/dev/null)
SANITY_WITH = install -D -m 0644 tools/offline_get_pip.py \
		~/.ansible/test/cache/get_pip_$(subst .,_,$(call ANSIBLE_TEST_PIP,$(1))).py && \
	cd $(SANITY_TREE) && PATH=$(CURDIR)/$(1)/bin:$$PATH ansible-test sanity --venv \
		--python $$($(CURDIR)/$(1)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
sanity: setup $(CONTROLLERS)
	rm -rf $(SANITY_TREE) && mkdir -p $(SANITY_TREE)
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t $(SANITY_TREE)
	git -C $(SANITY_TREE) init -q
	$(call SANITY_WITH,$(VENV))
	$(if $(CONTROLLERS),$(call SANITY_WITH,$(NEWEST_CONTROLLER)))

units: setup $(COLLECTION_LINK)
	$(call PYTEST,tests/unit)

# The main job, on this box: make pair PAIR=alice[,bob] [READ_ONLY=carol] [FOR=2h]; make status; make unpair PAIR=alice|all.
# Not root: sudo asks for your password once (become). A few plain lines instead of a banner
# per task (plugins/callback/pairing.py); all of them with ANSIBLE_VERBOSITY=1 make ...
BECOME_PASS := $(if $(filter 0,$(shell id -u)),,--ask-become-pass)
PLAYBOOK = ANSIBLE_STDOUT_CALLBACK=pairing.tmux.pairing ansible-playbook $(BECOME_PASS) playbooks/$(1).yml

pair: setup $(COLLECTION_LINK)
	@test -n "$(PAIR)$(READ_ONLY)" || { echo 'usage: make pair PAIR=<github user>[,<github user>...] [READ_ONLY=<github user>] [FOR=2h] [TUNNEL=none|ngrok|ssh] [NGROK_INSTALL=installed|repository|binary [NGROK_BINARY=path]]' >&2; exit 2; }
	$(call PLAYBOOK,pair) -e pair=$(PAIR) -e read_only=$(READ_ONLY) $(if $(FOR),-e for=$(FOR)) $(if $(TUNNEL),-e tunnel=$(TUNNEL)) \
		$(if $(NGROK_INSTALL),-e pairing_ngrok_install=$(NGROK_INSTALL)) $(if $(NGROK_BINARY),-e pairing_ngrok_binary=$(NGROK_BINARY))

status: setup $(COLLECTION_LINK)
	$(call PLAYBOOK,status)

unpair: setup $(COLLECTION_LINK)
	@test -n "$(PAIR)" || { echo 'usage: make unpair PAIR=<github user>[,...]|all [TUNNEL=down]' >&2; exit 2; }
	$(call PLAYBOOK,unpair) -e pair=$(PAIR) $(if $(TUNNEL),-e tunnel=$(TUNNEL))

# The whole story on throwaway test hosts, no account anywhere (needs root).
demo: setup $(COLLECTION_LINK)
	python tools/demo.py

# Molecule scenarios in extensions/molecule/, on test hosts (needs root).
molecule: setup $(COLLECTION_LINK)
	$(EACH_RELEASE) $(MOLECULE_ALL)

# The test-host harness from the shell, e.g. make testhosts ARGS='up pair relay'.
testhosts: setup
	cd tests && TESTHOSTS_RELEASE=$(firstword $(RELEASES)) python -m testhosts $(ARGS)

# ansible.posix is a benchmark baseline only: taken from PyPI's `ansible` package into .build/.
ANSIBLE_PACKAGE := ansible==12.3.0
BASELINE_COLLECTIONS := $(BUILD)/benchmarks/collections
$(BASELINE_COLLECTIONS)/ansible_collections/ansible/posix: | setup
	rm -rf $(BUILD)/benchmarks/wheel && pip download --quiet --no-deps -d $(BUILD)/benchmarks/wheel '$(ANSIBLE_PACKAGE)'
	python -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
		z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith("ansible_collections/ansible/posix/")])' \
		$(BUILD)/benchmarks/wheel/*.whl $(BASELINE_COLLECTIONS)

benchmark-keys: setup $(COLLECTION_LINK) $(BASELINE_COLLECTIONS)/ansible_collections/ansible/posix
	python benchmarks/keys.py

build: setup
	ansible-galaxy collection build --force --output-path $(DIST)

# Fragments in changelogs/fragments/ are folded into the release named in galaxy.yml.
changelog: setup $(COLLECTION_LINK)
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/$(COLLECTIONS) antsibull-changelog release --update-existing --reload-plugins

clean:
	rm -rf $(BUILD) $(VENV)
