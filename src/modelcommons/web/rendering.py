"""Templates, markdown and syntax highlighting for the web pages."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name, get_lexer_for_filename
from pygments.util import ClassNotFound

from modelcommons import __version__
from modelcommons.config import get_settings
from modelcommons.errors import CommonsError, InvalidInputError
from modelcommons.hub.names import split_repo_id
from modelcommons.hub.repos import Repo
from modelcommons.web import auth

HERE = Path(__file__).parent
URL_PREFIX = {"model": "", "dataset": "datasets/"}
_FORMATTER = HtmlFormatter(cssclass="highlight", wrapcode=True)
_INLINE_FORMATTER = HtmlFormatter(nowrap=True)  # markdown-it adds the <pre><code> itself


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
RENDERED_CHARS = 64 * 1024 * 1024  # rendered cards and files kept per process, in characters
# What one markdown render may still highlight: Pygments costs up to ~8 µs a character.
_highlight_budget: ContextVar[int] = ContextVar("highlight_budget", default=0)


def _highlight_code(code: str, language: str, _attrs: Any) -> str:
    budget = _highlight_budget.get()
    if len(code) > budget:
        return ""  # markdown-it then escapes the block itself, which costs next to nothing
    _highlight_budget.set(budget - len(code))
    try:
        lexer = get_lexer_by_name(language) if language else TextLexer()
    except ClassNotFound:
        lexer = TextLexer()
    return str(highlight(code, lexer, _INLINE_FORMATTER))


def _align_by_class(state: StateCore) -> None:
    """Table alignment as a class: the pages' CSP allows no inline style attributes."""
    for token in state.tokens:
        style = token.attrs.get("style")
        if token.type in ("th_open", "td_open") and isinstance(style, str):
            del token.attrs["style"]
            token.attrSet("class", "align-" + style.removeprefix("text-align:"))


def _mark_external(state: StateCore) -> None:
    """Links out of the hub say so, and pass on no ranking or window handle."""
    for token in _inline_tokens(state):
        href = token.attrs.get("href")
        if token.type == "link_open" and isinstance(href, str) and _is_external(href):
            token.attrSet("rel", "nofollow noopener noreferrer ugc")
            token.attrSet("class", "external")


def _inline_tokens(state: StateCore) -> Iterator[Token]:
    for token in state.tokens:
        yield token
        yield from token.children or ()


def _is_external(href: str) -> bool:
    # Browsers read a backslash as a slash: "/\host" is "//host", another site.
    return bool(_SCHEME.match(href)) or href.replace("\\", "/").startswith("//")


@cache
def _markdown() -> MarkdownIt:
    # Raw HTML stays off: a card is written by anyone and must not run script on our pages.
    md = MarkdownIt("commonmark", {"html": False, "highlight": _highlight_code})
    md.core.ruler.push("align_by_class", _align_by_class)
    md.core.ruler.push("mark_external", _mark_external)
    return md.enable(["table", "strikethrough"])


def render_markdown(text: str) -> Markup:
    budget = _highlight_budget.set(get_settings().highlight_bytes)
    try:
        return Markup(_markdown().render(text))
    finally:
        _highlight_budget.reset(budget)


# Characters that are costly to lay out, with the bytes of card each one needs: a 200 kB
# card may hold 5,000 `[`, 10,000 `|` and 20,000 of each emphasis mark (~0.5 s each at most).
_COSTLY = {"[": 40, "|": 20, "_": 10, "*": 10}


def _nth(text: str, char: str, n: int) -> int:
    """Where the n-th `char` is in `text` (its length when there are fewer)."""
    position = -1
    for _ in range(n):
        position = text.find(char, position + 1)
        if position < 0:
            return len(text)
    return position


def card_start(text: str, limit: int) -> tuple[str, bool]:
    """The start of a card that is cheap to lay out, and whether it is all of it.

    markdown-it-py costs about 0.3 µs a character of prose, but up to 90 µs a `[` (each
    opens a link label it scans ahead for), 20 µs a table cell and 7 µs an emphasis mark;
    so besides the card's size (`limit`, applied when it is read) those are bounded too."""
    end = min(_nth(text, char, max(1, limit // share)) for char, share in _COSTLY.items())
    if end >= len(text):
        return text, False
    line_end = text.rfind("\n", 0, end)
    return text[: line_end if line_end > 0 else end], True


class _Rendered:
    """Rendered HTML by the blob it came from, least recently used dropped first: a blob
    never changes, so each process renders it once however many people view it."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars, self.chars = max_chars, 0
        self.items: OrderedDict[tuple[str, str, int], Markup] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[str, str, int], render: Callable[[], Markup]) -> Markup:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        html = render()  # outside the lock: two first views may both render, which is fine
        with self.lock:
            if key not in self.items:
                self.items[key] = html
                self.chars += len(html)
            while self.chars > self.max_chars and len(self.items) > 1:
                self.chars -= len(self.items.popitem(last=False)[1])
        return html


_RENDERED = _Rendered(RENDERED_CHARS)


def rendered(key: tuple[str, str, int], render: Callable[[], Markup]) -> Markup:
    """HTML for a blob, rendered once per key (what, blob id, limit) in this process."""
    return _RENDERED.get(key, render)


def highlight_file(path: str, text: str) -> Markup:
    if len(text) > get_settings().highlight_bytes:
        return Markup('<div class="highlight"><pre><code>{}</code></pre></div>').format(text)
    try:
        lexer = get_lexer_for_filename(path, stripnl=False)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False)
    return Markup(highlight(text, lexer, _FORMATTER))


@cache
def pygments_css() -> str:
    return str(_FORMATTER.get_style_defs([".highlight", ".markdown pre"]))


def repo_href(repo: Repo, *parts: str) -> str:
    """The web path of a repo, or of a page under it (parts are quoted, '/' kept)."""
    tail = "".join("/" + quote(p, safe="/") for p in parts if p)
    return f"/{URL_PREFIX[repo.type]}{repo.repo_id}{tail}"


def repo_id_href(repo_id: object, repo_type: str = "model") -> str | None:
    """The page of a repo id a card names, or None when it is not a valid repo id: a card is
    written by anyone, and `//evil.example/x` must not become a link that looks like ours."""
    if not isinstance(repo_id, str):
        return None
    try:
        split_repo_id(repo_id)
    except InvalidInputError:
        return None
    return f"/{URL_PREFIX[repo_type]}{repo_id}"


def filesize(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def ago(moment: datetime | None) -> str:
    if moment is None:
        return ""
    now = datetime.now(UTC).replace(tzinfo=None)  # the database keeps naive UTC times
    seconds = (now - moment).total_seconds()
    for span, unit in ((86400 * 365, "year"), (86400 * 30, "month"), (86400, "day")):
        if seconds >= span:
            count = int(seconds // span)
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    for span, unit in ((3600, "hour"), (60, "minute")):
        if seconds >= span:
            count = int(seconds // span)
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "just now"


def compact(number: int) -> str:
    if number >= 1_000_000:
        return f"{number / 1_000_000:.1f}M"
    if number >= 1000:
        return f"{number / 1000:.1f}k"
    return str(number)


def with_query(request: Request, **changes: object) -> str:
    """This page's URL with some query parameters changed (None removes one)."""
    params = {k: v for k, v in request.query_params.items() if k not in changes}
    params.update({k: str(v) for k, v in changes.items() if v not in (None, "")})
    return request.url.path + ("?" + urlencode(params) if params else "")


@cache
def templates() -> Jinja2Templates:
    found = Jinja2Templates(directory=HERE / "templates")
    env = found.env
    env.filters.update(filesize=filesize, ago=ago, compact=compact, markdown=render_markdown)
    env.globals.update(
        repo_href=repo_href, repo_id_href=repo_id_href, with_query=with_query, version=__version__
    )
    return found


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    """Render a page; every page knows who is logged in and carries the form CSRF token."""
    token, new_seed = auth.csrf_token(request)
    page_context = {"me": auth.web_principal(request).user, "csrf": token, **(context or {})}
    response = templates().TemplateResponse(request, name, page_context, status_code=status)
    if new_seed:
        auth.set_csrf_cookie(request, response, new_seed)
    return response


def form_page(
    request: Request, name: str, context: dict[str, Any], error: CommonsError | None
) -> HTMLResponse:
    """A form page, shown again after a refusal with the reason and the refusal's status."""
    status = error.status if error else 200
    return render(request, name, {**context, "error": error and error.message}, status=status)
