"""Pure license rules: the SPDX table (terms) and compatibility along a lineage.

No database and no hub: both the hub (indexing cards, checking lineage) and ml/ (deriving a
fine-tuned model's license) import these rules.
"""
