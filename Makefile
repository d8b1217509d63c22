# The two quick-start commands; see README.md.
.PHONY: hub test setup bench

hub:
	scripts/hub.sh

test:
	scripts/test.sh

setup:
	scripts/setup.sh

bench: setup
	.venv/bin/python bench/run.py
