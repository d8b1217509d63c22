"""Pages and previews stay cheap and honest with hostile files in a repo; every response
carries the security headers, and user files cannot run script in the hub's origin."""

from __future__ import annotations

import ast
import html
import io
import json
import re
import uuid
import warnings

import httpx
import pytest
import yaml
from huggingface_hub import HfApi

from tests.integration.conftest import User
from tests.integration.test_web_browser import Session, browser  # noqa: F401 (a fixture)

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
HTML = {"Accept": "text/html"}
GUARD = 3.0  # seconds: a bounded page answers well within this, today's answered in 5-10


def _dataset(api: HfApi, alice: User, files: dict[str, bytes]) -> str:
    rid = f"{alice.name}/d-{uuid.uuid4().hex[:8]}"
    api.create_repo(rid, repo_type="dataset")
    for path, data in files.items():
        api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=rid, repo_type="dataset")
    return rid


def _page(hub: str, path: str, timeout: float = GUARD) -> str:
    response = httpx.get(hub + path, headers=HTML, timeout=timeout)
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    return response.text


def _parquet(table: object, **options: object) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **options)
    return buffer.getvalue()


def test_a_parquet_file_that_decodes_to_100_mb_is_not_decoded(hub: str, api: HfApi, alice: User):
    one_cell = pa.table({"text": ["a" * 100_000_000]})  # ~3 KB on disk
    small = _parquet(one_cell, compression="zstd", use_dictionary=False, write_statistics=False)
    assert len(small) < 10_000
    rid = _dataset(api, alice, {"data/bomb.parquet": small})
    for path in (f"/datasets/{rid}/blob/main/data/bomb.parquet", f"/datasets/{rid}"):
        page = html.unescape(_page(hub, path))
        assert "Can't preview data/bomb.parquet" in page
        assert "more than a preview may decode" in page


def test_a_dictionary_of_one_huge_string_is_shown_cut(hub: str, api: HfApi, alice: User):
    repeated = pa.table({"text": ["b" * 5_000_000] * 20, "n": list(range(20))})
    rid = _dataset(api, alice, {"rows.parquet": _parquet(repeated, compression="zstd")})
    page = _page(hub, f"/datasets/{rid}/blob/main/rows.parquet")
    assert "First 20 rows of rows.parquet (of 20)" in page
    assert page.count("b" * 199 + "…") == 20  # each cell cut for display
    assert len(page) < 200_000


def test_a_csv_field_over_the_csv_limit_is_previewed(hub: str, api: HfApi, alice: User):
    data = b"id,text\n1," + b"x" * 200_000 + b"\n2,short\n"
    rid = _dataset(api, alice, {"big.csv": data})
    page = _page(hub, f"/datasets/{rid}")
    assert "First 2 rows of big.csv" in page
    assert "x" * 199 + "…" in page and "short" in page


def test_a_deeply_nested_json_line_says_it_cannot_be_previewed(hub: str, api: HfApi, alice: User):
    data = b'{"a": 1}\n' + b"[" * 10_000 + b"]" * 10_000 + b"\n"
    rid = _dataset(api, alice, {"rows.jsonl": data})
    for path in (f"/datasets/{rid}", f"/datasets/{rid}/blob/main/rows.jsonl"):
        page = html.unescape(_page(hub, path))
        assert "Can't preview rows.jsonl: Line 2 is nested too deeply to preview." in page


def test_lone_surrogates_in_a_json_line_are_shown_not_a_500(hub: str, api: HfApi, alice: User):
    rid = _dataset(api, alice, {"rows.jsonl": b'{"text": "a\\ud800b", "\\udfff": 1}\n'})
    page = _page(hub, f"/datasets/{rid}")
    assert "<td>a?b</td>" in page


@pytest.mark.parametrize(
    ("front_matter", "why"),
    [
        (  # seven levels of aliases: 64 bytes a level, 58 MB of JSON once expanded
            "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
            + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 10)}]\n"
                for i in range(6)
            ),
            "it holds over 100,000 values",
        ),
        ("tags: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
        ('tags:\n- "\\ud800"\n', "not valid Unicode"),
    ],
    ids=["aliases", "deep", "surrogate"],
)
def test_a_hostile_front_matter_is_kept_out_of_the_index(
    hub: str, api: HfApi, repo_id: str, front_matter: str, why: str
):
    readme = f"---\n{front_matter}---\n# Still a card\n"
    with warnings.catch_warnings(record=True) as caught:  # the client shows the hub's reason
        warnings.simplefilter("always")
        api.upload_file(path_or_fileobj=readme.encode(), path_in_repo="README.md", repo_id=repo_id)
    assert any(why in str(w.message) for w in caught), [str(w.message) for w in caught]
    assert api.model_info(repo_id).card_data in (None, {})  # type: ignore[comparison-overlap]
    assert "<h1>Still a card</h1>" in _page(hub, f"/{repo_id}")


def test_a_500_kb_card_is_cut_and_rendered_once(hub: str, api: HfApi, repo_id: str):
    rows = "".join(f"| cell {i} | value {i} |\n" for i in range(25_000))
    readme = "# Big\n\n| a | b |\n|:--|--:|\n" + rows
    assert len(readme) > 500_000
    api.upload_file(path_or_fileobj=readme.encode(), path_in_repo="README.md", repo_id=repo_id)
    first = _page(hub, f"/{repo_id}", timeout=60)  # the one render, however slow the machine
    assert "This card is long: only its start is shown here." in first
    assert ">cell 100<" in first and ">cell 20000<" not in first
    assert (
        'class="align-right"' in first and "style=" not in first
    )  # the CSP allows no inline style
    for _ in range(3):  # then every view is served from the rendered card
        assert _page(hub, f"/{repo_id}") == first


def test_a_card_of_costly_markdown_is_cut_where_it_gets_costly(hub: str, api: HfApi, repo_id: str):
    readme = "# Brackets\n\n" + "![" * 100_000  # 200 kB: each `[` opens a label to scan
    api.upload_file(path_or_fileobj=readme.encode(), path_in_repo="README.md", repo_id=repo_id)
    page = html.unescape(_page(hub, f"/{repo_id}"))
    assert "This card is long: only its start is shown here." in page
    assert "Read all of README.md" in page


def test_a_commit_page_does_not_diff_past_its_budget(hub: str, api: HfApi, repo_id: str):
    lines = [f"l{i}" for i in range(10_000)]  # 60 KB, every pair of lines swapped below
    api.upload_file(
        path_or_fileobj="\n".join(lines).encode(), path_in_repo="a.txt", repo_id=repo_id
    )
    swapped = "\n".join(lines[i ^ 1] for i in range(len(lines))).encode()
    commit = api.upload_file(path_or_fileobj=swapped, path_in_repo="a.txt", repo_id=repo_id)
    page = html.unescape(_page(hub, f"/{repo_id}/commit/{commit.oid}"))
    assert "diff too large to show here (20,000 lines; this page diffs 3,000)" in page
    # A big file with one changed line still shows its diff: shared lines are not diffed.
    api.upload_file(
        path_or_fileobj="\n".join(lines).encode(), path_in_repo="b.txt", repo_id=repo_id
    )
    lines[5000] = "changed"
    commit = api.upload_file(
        path_or_fileobj="\n".join(lines).encode(), path_in_repo="b.txt", repo_id=repo_id
    )
    page = html.unescape(_page(hub, f"/{repo_id}/commit/{commit.oid}"))
    assert "@@ -4998,7 +4998,7 @@" in page
    assert "+changed" in page and "-l5001" not in page and "-l5000" in page


def _csp(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return dict((part.strip() + " ").split(" ", 1) for part in policy.split(";"))


def test_pages_carry_security_headers(hub: str, repo_id: str):
    for path in ("/", f"/{repo_id}", "/login", "/no-such-account-here"):
        response = httpx.get(hub + path, headers=HTML)
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        policy = _csp(response)
        assert policy["default-src"].strip() == "'self'"
        assert policy["script-src"].strip() == "'self'"  # no inline script
        assert policy["frame-ancestors"].strip() == "'none'"
        assert policy["object-src"].strip() == "'none'"
        assert policy["form-action"].strip() == "'self'"
        assert "<script>" not in response.text and " style=" not in response.text
    # The API's own Swagger page gets just the CDN it loads from; JSON answers are sandboxed.
    docs = _csp(httpx.get(hub + "/api/docs"))
    assert "https://cdn.jsdelivr.net" in docs["script-src"] and docs["frame-ancestors"]
    assert "sandbox" in _csp(httpx.get(hub + "/api/models/nobody/nothing"))


def test_user_html_and_svg_cannot_run_script_in_the_hub_origin(hub: str, api: HfApi, repo_id: str):
    evil = b"<html><script>fetch('/api/whoami-v2')</script></html>"
    api.upload_file(path_or_fileobj=evil, path_in_repo="page.html", repo_id=repo_id)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    api.upload_file(path_or_fileobj=svg, path_in_repo="logo.svg", repo_id=repo_id)
    stored = b"<html>\0<script>alert(1)</script></html>"  # the NUL sends it to LFS
    api.upload_file(path_or_fileobj=stored, path_in_repo="lfs.html", repo_id=repo_id)
    assert api.get_paths_info(repo_id, ["lfs.html"])[0].lfs is not None  # type: ignore[union-attr]
    for path in ("page.html", "logo.svg", "lfs.html"):
        for method in ("GET", "HEAD"):
            response = httpx.request(method, f"{hub}/{repo_id}/resolve/main/{path}")
            if response.is_redirect:  # an S3 store's presigned URL: another origin, a download
                location = httpx.URL(response.headers["location"])
                assert (location.host, location.port) != (httpx.URL(hub).host, httpx.URL(hub).port)
                response = httpx.request(method, location)
                assert response.status_code == 200
                assert response.headers["content-type"] == "application/octet-stream"
                assert response.headers["content-disposition"].startswith("attachment")
                continue
            assert response.status_code == 200
            assert not response.headers.get("content-type", "").startswith(
                ("text/html", "image/svg")
            )
            assert response.headers["x-content-type-options"] == "nosniff"
            policy = _csp(response)
            assert "sandbox" in policy and policy["default-src"].strip() == "'none'"


def _snippet_code(page: str) -> list[str]:
    return [
        html.unescape(code)
        for code in re.findall(r"<pre id=\"snippet-\d+\"><code>(.*?)</code>", page, re.S)
    ]


def test_card_values_are_quoted_in_snippets_and_never_look_like_our_links(
    hub: str, api: HfApi, repo_id: str
):
    tag = 'x", model="evil"); import os; os.system("id"); ("'
    front = yaml.safe_dump({"pipeline_tag": tag, "base_model": "//evil.example/x"})
    body = "[docs](https://example.com/docs) and [here](/" + repo_id + ")\n"
    readme = f"---\n{front}---\n{body}"
    api.upload_file(path_or_fileobj=readme.encode(), path_in_repo="README.md", repo_id=repo_id)
    page = _page(hub, f"/{repo_id}")
    python = next(code for code in _snippet_code(page) if "pipeline(" in code)
    call = next(
        node
        for node in ast.walk(ast.parse(python))
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "pipeline"
    )
    assert [ast.literal_eval(a) for a in call.args] == [tag]
    assert [(k.arg, ast.literal_eval(k.value)) for k in call.keywords] == [("model", repo_id)]
    assert len(ast.parse(python).body) == 4  # import os, HF_ENDPOINT, import pipeline, the call
    # The base model is no repo id: shown as text, never as a link (`///evil.example/x`).
    assert "evil.example" in page
    assert not re.search(r"href=\"[^\"]*evil\.example", page)
    assert "not on this hub" in page
    # Links in the card body that leave the hub are marked; links inside it are not.
    assert (
        '<a href="https://example.com/docs" rel="nofollow noopener noreferrer ugc" '
        'class="external">docs</a>' in page
    )
    assert f'<a href="/{repo_id}">here</a>' in page
    cli = next(code for code in _snippet_code(page) if code.startswith("HF_ENDPOINT="))
    assert cli == f"HF_ENDPOINT={hub} hf download {repo_id}"
    assert json.dumps(tag) in python


@pytest.mark.web
def test_pages_work_under_the_csp_which_refuses_inline_script_and_framing(
    browser,  # noqa: F811 (the fixture imported above)
    hub: str,
    alice: User,
    bob: User,
):
    from tests.integration.cards import make_chain

    chain = make_chain(hub, alice, bob)  # the lineage page indents three levels
    api = HfApi(endpoint=hub, token=alice.token)
    readme = "# Aligned\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n\n[out](https://example.com)\n"
    api.upload_file(
        path_or_fileobj=readme.encode(), path_in_repo="README.md", repo_id=chain["base"]
    )
    session = Session(browser, hub)
    try:
        page = session.go(f"/{chain['base']}")
        cell = page.get_by_role("cell", name="2", exact=True)
        assert cell.evaluate("td => getComputedStyle(td).textAlign") == "right"
        assert page.get_by_role("link", name="out").get_attribute("rel") == (
            "nofollow noopener noreferrer ugc"
        )
        page = session.go(f"/{chain['merge']}/lineage")
        depths = page.locator("ol.chain li").evaluate_all(
            "items => items.map(li => getComputedStyle(li).marginLeft)"
        )
        assert len(set(depths)) >= 3, depths
        assert not session.errors  # every page so far ran clean under the CSP
        # An injected inline script does not run, and the refusal is what the console shows.
        ran = page.evaluate(
            """() => { const s = document.createElement('script');
                s.textContent = 'window.injected = true'; document.body.append(s);
                return window.injected === true; }"""
        )
        assert ran is False
        assert any("Content Security Policy" in e for e in session.errors), session.errors
        # Another site cannot frame a hub page (the settings forms would be clickjackable).
        page.goto("about:blank")
        page.set_content(f'<iframe src="{hub}/{chain["base"]}"></iframe>')
        frame = page.frames[-1]
        page.wait_for_timeout(500)
        assert frame != page.main_frame and 'class="align-right"' not in frame.content()
    finally:
        session.errors.clear()  # the refusals above were provoked on purpose
        session.close()
