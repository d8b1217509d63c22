# The two quick-start commands, and their parts; see README.md.
.PHONY: hub test lint setup bench

hub:
	scripts/hub.sh

test:
	scripts/test.sh

# Exactly CI's lint step (scripts/test.sh runs the same file).
lint: setup
	scripts/lint.sh

setup:
	scripts/setup.sh

bench: setup
	.venv/bin/python bench/run.py
