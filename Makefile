# Two commands for a newcomer: `make run` serves the site, `make test` runs the whole suite.
# Both need only Python 3.11+ and make: they create .venv, install the pinned requirements and,
# unless DATABASE_URL is set, start a private PostgreSQL (see config/dev.py).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: run test lint audit lock clean-db bench messages

$(VENV)/.installed: requirements/test.txt requirements/production.txt requirements/base.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Holdfast needs Python 3.11 or newer")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/test.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m config.dev run $(ARGS)

test: $(VENV)/.installed lint
	$(PY) -m config.dev exec -- $(PY) manage.py makemigrations --check --dry-run --settings=config.settings.test
	$(PY) manage.py check_catalogues --settings=config.settings.test
	$(PY) manage.py compile_catalogues --settings=config.settings.test
	$(PY) -m config.dev exec -- $(PY) -m pytest $(PYTEST_ARGS)

# ruff, then the layers of docs/architecture.md (import-linter's contracts in pyproject.toml).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

# Security checks (CI runs them after the tests): bandit fails on any high-severity finding in our
# code; pip-audit fails on a known vulnerability in the pinned production requirements.
audit: $(VENV)/.installed
	$(VENV)/bin/bandit --recursive accounts api config core guest payments privacy reservations spaces staff --exclude '*/migrations/*' \
		--severity-level high --quiet
	$(VENV)/bin/pip-audit --requirement requirements/production.txt --no-deps --disable-pip --progress-spinner off

# Load tests the production way (gunicorn, production settings) on a database of their own,
# holdfast_bench: a table of figures, JSON in bench/results/. `make bench ARGS=--quick` takes ~7 minutes (a 5-minute soak at the end).
bench: $(VENV)/.installed
	$(PY) -m bench $(ARGS)

# Bring the translation catalogues (locale/) in line with the strings marked in the code, then give the
# new entries their German, French and Spanish (check_catalogues, in `make test`, fails until then).
# Needs GNU gettext (xgettext, msgmerge).
messages: $(VENV)/.installed
	$(PY) manage.py makemessages --locale=de --locale=fr --locale=es --no-obsolete \
		--ignore='.venv/*' --ignore='tests/*' --ignore='bench/*' --ignore='staticfiles/*' --settings=config.settings.test

# Re-pin requirements/*.txt after editing requirements/*.in.
lock: $(VENV)/.installed
	$(PY) -m pip install --quiet pip-tools
	cd requirements && for f in base production test; do \
		../$(VENV)/bin/pip-compile --quiet --strip-extras --no-header --no-emit-index-url \
			--no-emit-find-links --allow-unsafe $$f.in -o $$f.txt; done

# Forget the private database's data (the next `make run` loads the demo data again).
clean-db:
	rm -rf .pgdata
