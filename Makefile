# Bluelamp: the two commands are `make demo` and `make test`.
.PHONY: demo test bench install docs clean

demo: ## set up everything and run Bluelamp with its demo force on SQLite
	@scripts/bootstrap.sh --no-dev --inexact
	@.venv/bin/bluelamp demo

test: ## set up everything and run the whole suite on SQLite and PostgreSQL
	@scripts/test.sh

bench: ## run the benchmarks in bench/ and record them in docs/benchmarks.md
	@scripts/bootstrap.sh
	@scripts/system-deps.sh
	@.venv/bin/python bench/run.py

install: ## only create .venv with Bluelamp and its dev dependencies
	@scripts/bootstrap.sh

docs: ## regenerate the settings, CLI and error-code references in docs/
	@scripts/bootstrap.sh
	@.venv/bin/python scripts/gen_docs.py

clean:
	rm -rf .venv .tools .pytest_cache
