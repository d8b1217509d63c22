"""The web, driven in Debian's Chromium by Playwright against the live hub.

Each test watches the browser console: any error logged on any page fails it. Screenshots
of the main pages at desktop and phone width land in screenshots/ (git-ignored).
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download

from tests.integration.cards import card, make_chain, publish, unique
from tests.integration.conftest import User

pytestmark = pytest.mark.web
playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


class Session:
    """One browser profile (cookies) with a page that records console errors."""

    def __init__(self, browser, hub: str, size: str = "desktop") -> None:
        self.hub = hub
        self.size = SIZES[size]
        self.context = browser.new_context(viewport=self.size, base_url=hub)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.expected: set[int] = set()  # statuses a test provokes on purpose
        self.page.on(
            "console",
            lambda msg: (
                self.errors.append(f"{self.page.url}: {msg.text}") if msg.type == "error" else None
            ),
        )
        self.page.on("pageerror", lambda exc: self.errors.append(f"{self.page.url}: {exc}"))

    def go(self, path: str, *, status: int = 200):
        if status != 200:
            self.expected.add(status)
        response = self.page.goto(path)
        assert response is not None and response.status == status, (
            path,
            response and response.status,
        )
        return self.page

    def sign_up(self, name: str) -> None:
        page = self.go("/signup")
        page.get_by_label("User name").fill(name)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url(f"**/{name}")

    def log_in(self, name: str) -> None:
        page = self.go("/login")
        page.get_by_label("User name").fill(name)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(self.hub + "/")

    def shoot(self, name: str, size: str = "desktop") -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        self.page.set_viewport_size(SIZES[size])
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=True)
        self.page.set_viewport_size(self.size)

    def close(self) -> None:
        """Closes the profile; fails on console errors, except the provoked HTTP statuses
        (Chromium logs "Failed to load resource" for every 4xx page it shows)."""
        self.context.close()
        expected = tuple(f"status of {code}" for code in self.expected)
        errors = [e for e in self.errors if not any(x in e for x in expected)]
        assert not errors, "console errors:\n" + "\n".join(errors)


@pytest.fixture
def session(browser, hub: str) -> Iterator[Session]:
    opened = Session(browser, hub)
    yield opened
    opened.close()


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (12, 8), (47, 91, 211)).save(buffer, format="PNG")
    return buffer.getvalue()


def _name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def test_sign_up_publish_edit_search_and_use_a_token(session: Session, hub: str) -> None:
    user, repo = _name("web"), _name("model-")
    session.sign_up(user)
    page = session.page
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(hub + "/")
    assert page.get_by_role("link", name="Log in").is_visible()
    session.log_in(user)

    # Create a repo.
    page = session.go("/new")
    page.get_by_label("Name", exact=True).fill(repo)
    page.get_by_label("License").select_option("mit")
    page.get_by_role("button", name="Create repository").click()
    page.wait_for_url(f"**/{user}/{repo}")

    # Upload a text file and a binary one (which goes to LFS) through the page.
    page = session.go(f"/{user}/{repo}/upload")
    page.locator("input#files").set_input_files(
        [
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello from the browser\n"},
            {
                "name": "weights.bin",
                "mimeType": "application/octet-stream",
                "buffer": b"\0\1" * 5000,
            },
        ]
    )
    page.get_by_label("Commit message").fill("Add notes and weights")
    page.get_by_role("button", name="Commit to main").click()
    page.wait_for_url(f"**/{user}/{repo}/tree/main")
    files = page.get_by_role("table")
    assert files.get_by_role("link", name="notes.txt", exact=True).is_visible()
    row = page.get_by_role("row").filter(has_text="weights.bin")
    assert row.get_by_text("LFS").is_visible()
    assert "10.0 kB" in row.inner_text()
    session.shoot("tree")

    # The file viewer shows the text.
    files.get_by_role("link", name="notes.txt", exact=True).click()
    page.wait_for_url("**/blob/main/notes.txt")
    assert (
        "hello from the browser"
        in page.get_by_role("region", name="Contents of notes.txt").inner_text()
    )
    session.shoot("blob")

    # Edit the card in the browser; it is rendered with its metadata.
    page = session.go(f"/{user}/{repo}/edit")
    card = (
        "---\nlicense: mit\npipeline_tag: text-classification\nlanguage: en\n"
        f"tags:\n- tag-{repo}\n---\n\n# Hello {repo}\n\n| metric | value |\n|---|---|\n"
        "| accuracy | 0.91 |\n\n```python\nprint('hi')\n```\n"
    )
    page.get_by_label("Card (markdown)").fill(card)
    page.get_by_label("Commit message").fill("Write the card")
    page.get_by_role("button", name="Commit changes").click()
    page.wait_for_url(f"**/{user}/{repo}")
    article = page.get_by_role("article")
    assert article.get_by_role("heading", name=f"Hello {repo}").is_visible()
    assert article.get_by_role("cell", name="0.91").is_visible()
    about = page.get_by_role("complementary", name="About this model")
    assert about.get_by_role("link", name="mit").is_visible()
    assert "across versions" in about.inner_text()  # storage accounting
    assert about.get_by_role("link", name="text-classification").is_visible()
    session.shoot("repo")
    session.shoot("repo", "phone")

    # The commit page shows the card's line diff.
    page = session.go(f"/{user}/{repo}/commits/main")
    page.get_by_role("link", name="Write the card").click()
    diff = page.get_by_role("region", name="Changes to README.md")
    assert diff.get_by_text(f"+# Hello {repo}").is_visible()
    assert diff.get_by_text("-Describe what this model is for.").is_visible()
    session.shoot("commit")

    # Search with a filter finds it; a filter it does not match leaves it out.
    page = session.go("/models")
    filters = page.get_by_role("complementary", name="Filters")
    filters.get_by_label("Search").fill(repo)
    filters.get_by_label("Task").select_option("text-classification")
    filters.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r".*task=text-classification.*"))
    assert page.get_by_role("link", name=f"{user}/{repo}").is_visible()
    session.shoot("models")
    session.shoot("models", "phone")
    page = session.go(f"/models?search={repo}&license=apache-2.0")
    assert page.get_by_role("link", name=f"{user}/{repo}").count() == 0
    page = session.go(f"/models?tag=tag-{repo}&language=en")
    assert page.get_by_role("link", name=f"{user}/{repo}").is_visible()

    # Like it; the count moves.
    page = session.go(f"/{user}/{repo}")
    page.get_by_role("button", name=re.compile("Like")).click()
    page.wait_for_url(f"**/{user}/{repo}")
    assert page.get_by_role("button", name=re.compile("Liked · 1")).is_visible()

    # A token made in the settings page works with huggingface_hub.
    page = session.go("/settings/tokens")
    page.get_by_label("Name").fill("laptop")
    page.get_by_label("Role").select_option("write")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-token").inner_text().strip()
    session.shoot("tokens")
    api = HfApi(endpoint=hub, token=secret)
    assert api.whoami()["name"] == user
    path = hf_hub_download(f"{user}/{repo}", "notes.txt", token=secret)
    assert Path(path).read_text() == "hello from the browser\n"
    api.upload_file(
        path_or_fileobj=b"from the client", path_in_repo="client.txt", repo_id=f"{user}/{repo}"
    )
    page = session.go(f"/{user}/{repo}/commits/main")
    assert page.get_by_role("link", name="Upload client.txt with huggingface_hub").is_visible()

    # Revoking it locks the client out.
    page = session.go("/settings/tokens")
    page.get_by_role("button", name="Revoke the token laptop").click()
    page.wait_for_url("**/settings/tokens")
    with pytest.raises(Exception, match="Invalid user token"):
        api.whoami()


def test_dataset_page_previews_csv_jsonl_and_parquet(
    session: Session, hub: str, alice: User
) -> None:
    import pandas as pd

    rid = f"{alice.name}/{_name('ds-')}"
    api = HfApi(endpoint=hub, token=alice.token)
    api.create_repo(rid, repo_type="dataset")
    frame = pd.DataFrame(
        {"text": [f"review {i}" for i in range(100)], "label": [i % 2 for i in range(100)]}
    )
    parquet = io.BytesIO()
    frame.to_parquet(parquet)
    for name, data in (
        ("data/train.csv", frame.to_csv(index=False).encode()),
        ("extra/rows.jsonl", frame.to_json(orient="records", lines=True).encode()),
        ("extra/table.parquet", parquet.getvalue()),
        ("extra/sample.png", _png()),
    ):
        api.upload_file(path_or_fileobj=data, path_in_repo=name, repo_id=rid, repo_type="dataset")

    page = session.go(f"/datasets/{rid}")
    preview = page.get_by_role("region", name="Preview of data/train.csv")
    assert preview.get_by_role("columnheader", name="text").is_visible()
    assert preview.get_by_role("cell", name="review 3", exact=True).is_visible()
    assert preview.get_by_role("row").count() == 21  # header + 20 rows
    session.shoot("dataset")
    session.shoot("dataset", "phone")
    for path in ("extra/rows.jsonl", "extra/table.parquet"):
        page = session.go(f"/datasets/{rid}/blob/main/{path}")
        table = page.get_by_role("region", name=f"Preview of {path}")
        assert table.get_by_role("cell", name="review 19", exact=True).is_visible()
    caption = page.get_by_role("region", name="Preview of extra/table.parquet").inner_text()
    assert "(of 100)" in caption
    page = session.go(f"/datasets/{rid}/blob/main/extra/sample.png")
    image = page.get_by_role("img", name="extra/sample.png")
    page.wait_for_function("() => document.querySelector('img.viewer').complete")
    assert image.evaluate("img => img.naturalWidth") == 12  # decoded, not a broken image


def test_private_repos_are_invisible_to_others(browser, session: Session, hub: str) -> None:
    owner, repo = _name("own"), _name("secret-")
    session.sign_up(owner)
    page = session.go("/new")
    page.get_by_label("Name", exact=True).fill(repo)
    page.get_by_label("Private: only you").check()
    page.get_by_role("button", name="Create repository").click()
    page.wait_for_url(f"**/{owner}/{repo}")
    assert page.get_by_text("private", exact=True).first.is_visible()
    page = session.go(f"/models?search={repo}")
    assert page.get_by_role("link", name=f"{owner}/{repo}").is_visible()

    other = Session(browser, hub)
    try:
        other.sign_up(_name("other"))
        for who in ("signed in", "anonymous"):
            page = other.go(f"/models?search={repo}")
            assert page.get_by_role("link", name=f"{owner}/{repo}").count() == 0, who
            page = other.go(f"/{owner}")
            assert page.get_by_role("link", name=f"{owner}/{repo}").count() == 0, who
            for path in ("", "/tree/main", "/commits/main", "/blob/main/.gitattributes"):
                page = other.go(f"/{owner}/{repo}{path}", status=404)
                assert page.get_by_role("heading", name="404 · Not found").is_visible()
            if who == "signed in":
                other.go(f"/{owner}/{repo}/settings", status=404)
                other.page.get_by_role("button", name="Log out").click()
        other.shoot("not-found")
    finally:
        other.close()


def test_pages_at_phone_width_and_login_errors(browser, hub: str) -> None:
    phone = Session(browser, hub, "phone")
    try:
        page = phone.go("/")
        assert page.get_by_role("search").first.is_visible()
        phone.shoot("home", "phone")
        phone.shoot("home")
        page = phone.go("/login")
        phone.expected.add(401)
        page.get_by_label("User name").fill("nobody-here")
        page.get_by_label("Password").fill("wrong password")
        page.get_by_role("button", name="Log in").click()
        assert page.get_by_role("alert").inner_text() == "Wrong user name or password."
        phone.shoot("login", "phone")
        page = phone.go("/new")  # needs a login: sent to the login page
        assert page.url.endswith("/login?next=/new")
    finally:
        phone.close()


def test_lineage_license_badge_and_leaderboard_in_the_browser(
    session: Session, hub: str, alice: User, bob: User
) -> None:
    chain = make_chain(hub, alice, bob)
    nc_base, mit_child = unique(alice, "nc"), unique(alice, "mit")
    api = HfApi(endpoint=hub, token=alice.token)
    publish(api, nc_base, card("cc-by-nc-4.0"))
    index = (
        "model-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
        f"    dataset: {{name: d, type: {chain['data']}}}\n"
        "    metrics:\n    - {type: accuracy, value: 0.75}\n"
    )
    publish(api, mit_child, card("mit", nc_base, "finetune", extra=index))

    page = session.go(f"/{chain['base']}")
    tree = page.get_by_role("complementary", name="About this model")
    assert tree.get_by_role("link", name="1 fine-tune").is_visible()
    assert tree.get_by_text("license compatible").is_visible()
    page = session.go(f"/{chain['merge']}")
    ancestors = page.get_by_role("list", name="Ancestors, nearest first")
    for key in ("adapter", "other", "ft", "base"):
        assert ancestors.get_by_role("link", name=chain[key]).is_visible(), key
    session.shoot("repo-lineage")
    page = session.go(f"/{chain['base']}/lineage")
    descendants = page.get_by_role("region", name="Built on it")
    for key in ("ft", "adapter", "merge"):
        assert descendants.get_by_role("link", name=chain[key]).is_visible(), key
    session.shoot("lineage")
    page = session.go(f"/datasets/{chain['data']}")
    trained = page.get_by_role("complementary", name="About this dataset")
    assert trained.get_by_role("link", name=chain["ft"]).is_visible()

    page = session.go(f"/{mit_child}")
    panel = page.get_by_role("region", name="License check")
    assert panel.get_by_text("license conflict").is_visible()
    assert "non-commercial" in panel.inner_text()
    page.get_by_role("link", name="accuracy").click()
    board = page.get_by_role("table")
    assert board.get_by_role("link", name=mit_child).is_visible()
    assert board.get_by_text("self-reported").is_visible()
    session.shoot("leaderboard")


def test_file_browser_pages_a_big_folder(session: Session, hub: str, alice: User) -> None:
    """A folder of 450 files is three pages of at most 200 rows, linked by signed cursors."""
    from huggingface_hub import CommitOperationAdd

    rid = f"{alice.name}/{_name('wide-')}"
    api = HfApi(endpoint=hub, token=alice.token)
    api.create_repo(rid)
    names = [f"w/f{i:03d}.txt" for i in range(450)]
    api.create_commit(rid, operations=[CommitOperationAdd(n, n.encode()) for n in names],
                      commit_message="450 files")  # fmt: skip

    page = session.go(f"/{rid}/tree/main/w")
    shown: list[str] = []
    for first, last in ((1, 200), (201, 400), (401, 450)):
        pager = page.get_by_role("navigation", name="Pages of this folder")
        assert pager.get_by_text(f"Entries {first}–{last}").is_visible()
        rows = page.get_by_role("table").get_by_role("link", name=re.compile(r"^f\d{3}\.txt$"))
        assert rows.count() == last - first + 1
        shown += rows.all_inner_texts()
        if last == 450:
            break
        if first == 201:
            session.shoot("tree-paged")
        pager.get_by_role("link", name="Next page →").click()
        page.wait_for_url(re.compile(r".*\?cursor=.*"))
    assert shown == [n.removeprefix("w/") for n in names]
    assert pager.get_by_role("link", name="Next page →").count() == 0
    pager.get_by_role("link", name="← First page").click()
    page.wait_for_url(f"**/{rid}/tree/main/w")
    pager = page.get_by_role("navigation", name="Pages of this folder")
    assert pager.get_by_text("Entries 1–200").is_visible()
    # A cursor the hub never issued is a clear 400 page, not a silent restart.
    page = session.go(f"/{rid}/tree/main/w?cursor=f199.txt", status=400)
    assert "not issued for this listing" in page.content()
