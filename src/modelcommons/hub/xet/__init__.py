"""Native Xet storage: the content-addressed CAS behind today's huggingface_hub uploads.

`format` reads the wire formats (hashes, xorbs, shards); `cas` keeps xorbs, chunks and file
reconstructions in the store and database; `tokens` issues the short-lived CAS tokens.
"""
