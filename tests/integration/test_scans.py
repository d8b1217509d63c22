"""Pickle files are scanned in the job worker; verdicts appear in expanded tree listings."""

from __future__ import annotations

import io
import os
import pickle
import time

import httpx


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def _status(api, repo_id: str, path: str):
    for _ in range(150):
        [entry] = [e for e in api.list_repo_tree(repo_id, expand=True) if e.path == path]
        if entry.security and entry.security.status != "pending":
            return entry.security
        time.sleep(0.2)
    raise AssertionError(f"{path} was never scanned")


def test_pickles_are_scanned(api, repo_id, hub, alice):
    evil, benign = io.BytesIO(), io.BytesIO()
    pickle.dump(_Evil(), evil)
    pickle.dump({"weights": [1.0, 2.0]}, benign)
    api.upload_file(path_or_fileobj=evil.getvalue(), path_in_repo="evil.pkl", repo_id=repo_id)
    api.upload_file(path_or_fileobj=benign.getvalue(), path_in_repo="ok.pkl", repo_id=repo_id)
    api.upload_file(path_or_fileobj=b"{}", path_in_repo="config.json", repo_id=repo_id)

    bad = _status(api, repo_id, "evil.pkl")
    assert bad.status == "unsafe" and not bad.safe
    imports = bad.pickle_import_scan["imports"]
    assert any(i["name"] == "system" and i["safety"] == "dangerous" for i in imports), imports
    assert _status(api, repo_id, "ok.pkl").safe
    assert _status(api, repo_id, "config.json").safe
    # Default policy warns: the file still downloads (or redirects to the object store), with
    # the verdict in a warning header.
    r = httpx.get(f"{hub}/{repo_id}/resolve/main/evil.pkl")
    assert r.status_code in (200, 302) and "unsafe" in r.headers["x-hf-warning"]
