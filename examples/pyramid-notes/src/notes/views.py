"""The views: thin, they parse the request, call :mod:`notes.store` and render a page."""

from __future__ import annotations

import re
from typing import Any

from pyramid.csrf import get_csrf_token
from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.view import notfound_view_config, view_config

from . import store
from .pages import esc, render, when

_NAME = re.compile(r"[\w][\w .'-]{0,39}")


@view_config(route_name="home", request_method="GET")
def home(request: Any) -> Any:
    settings = request.notes_settings
    tag = request.GET.get("tag") or None
    if tag is not None and tag not in settings.tags:
        raise HTTPNotFound(f"There is no tag {tag!r}.")
    try:
        number = min(max(1, int(request.GET.get("page", "1"))), 1_000_000)
    except ValueError:
        number = 1
    total = store.count(request.db, tag)
    notes = store.page(
        request.db, offset=(number - 1) * settings.page_size, limit=settings.page_size, tag=tag
    )
    parts = [f"<h1>{esc(settings.site_title)}</h1>", _tag_links(request, tag)]
    parts.append(f'<p class="total">{total} note{"" if total == 1 else "s"}</p>')
    parts += [_note_html(request, n) for n in notes]
    parts.append(_pager(request, number, total, tag))
    if settings.allow_signup:
        parts.append(_forms(request))
    return render(request, "Notes", "\n".join(parts))


@view_config(route_name="note", request_method="GET")
def note(request: Any) -> Any:
    found = store.get(request.db, int(request.matchdict["id"]))
    if found is None:
        raise HTTPNotFound("There is no such note.")
    body = _note_html(request, found) + f'<p><a href="{esc(request.route_url("home"))}">All notes</a></p>'
    return render(request, f"Note {found.id}", body)


@view_config(route_name="add")
def add(request: Any) -> Any:
    settings = request.notes_settings
    author = request.session.get("author")
    if not settings.allow_signup or not author:
        raise HTTPForbidden("Sign up before writing notes.")
    tag = request.POST.get("tag") or None
    if tag is not None and tag not in settings.tags:
        request.session.flash(f"There is no tag {tag!r}.")
        return HTTPSeeOther(request.route_url("home"))
    try:
        store.add(request.db, request.POST.get("text", ""), tag=tag, author=author)
    except ValueError as exc:
        request.session.flash(f"Not added: {exc}.")
    else:
        request.session.flash("Note added.")
    return HTTPSeeOther(request.route_url("home"))


@view_config(route_name="signup")
def signup(request: Any) -> Any:
    if not request.notes_settings.allow_signup:
        raise HTTPForbidden("Signing up is turned off on this site.")
    name = request.POST.get("name", "").strip()
    if not _NAME.fullmatch(name):
        request.session.flash("A name has 1 to 40 letters, digits, spaces or .'-")
        return HTTPSeeOther(request.route_url("home"))
    # A new session id on signing in, so that an id known before cannot be used afterwards.
    request.session.invalidate()
    request.session["author"] = name
    request.session.flash(f"Welcome, {name}.")
    return HTTPSeeOther(request.route_url("home"))


@view_config(route_name="signout")
def signout(request: Any) -> Any:
    request.session.invalidate()
    return HTTPSeeOther(request.route_url("home"))


@view_config(route_name="health", renderer="json")
def health(request: Any) -> dict[str, Any]:
    return {"status": "ok", "notes": store.count(request.db)}


@notfound_view_config()
def not_found(request: Any) -> Any:
    message = getattr(request.exception, "detail", None) or "There is no such page."
    return render(request, "Not found", f"<h1>Not found</h1><p>{esc(message)}</p>", status=404)


def _note_html(request: Any, n: store.Note) -> str:
    tag = (
        f' · <a class="tag" href="{esc(request.route_url("home", _query={"tag": n.tag}))}">{esc(n.tag)}</a>'
        if n.tag
        else ""
    )
    link = esc(request.route_url("note", id=n.id))
    return (
        f'<article class="note"><p>{esc(n.text)}</p>'
        f'<footer>{esc(n.author)} · <a href="{link}">{esc(when(n.created))}</a>{tag}</footer></article>'
    )


def _tag_links(request: Any, current: str | None) -> str:
    links = [f'<a href="{esc(request.route_url("home"))}"{_current(current is None)}>all</a>']
    for tag in request.notes_settings.tags:
        url = request.route_url("home", _query={"tag": tag})
        links.append(f'<a href="{esc(url)}"{_current(tag == current)}>{esc(tag)}</a>')
    return f'<nav class="tags">{" ".join(links)}</nav>'


def _current(yes: bool) -> str:
    return ' aria-current="page"' if yes else ""


def _pager(request: Any, number: int, total: int, tag: str | None) -> str:
    size = request.notes_settings.page_size
    links = []

    def url(n: int) -> str:
        query = {"page": n, **({"tag": tag} if tag else {})}
        return esc(request.route_url("home", _query=query))

    if number > 1:
        links.append(f'<a rel="prev" href="{url(number - 1)}">newer</a>')
    if number * size < total:
        links.append(f'<a rel="next" href="{url(number + 1)}">older</a>')
    return f'<nav class="pager">{" ".join(links)}</nav>' if links else ""


def _forms(request: Any) -> str:
    csrf = f'<input type="hidden" name="csrf_token" value="{esc(get_csrf_token(request))}">'
    author = request.session.get("author")
    if not author:
        return (
            f'<form class="signup" method="post" action="{esc(request.route_url("signup"))}">{csrf}'
            '<label>Your name <input name="name" maxlength="40" required></label>'
            "<button>Sign up to write notes</button></form>"
        )
    options = '<option value="">no tag</option>' + "".join(
        f'<option value="{esc(t)}">{esc(t)}</option>' for t in request.notes_settings.tags
    )
    return (
        f'<form class="add" method="post" action="{esc(request.route_url("add"))}">{csrf}'
        f'<label>Note <textarea name="text" maxlength="{store.MAX_TEXT}" required></textarea></label>'
        f'<label>Tag <select name="tag">{options}</select></label>'
        f"<button>Add the note as {esc(author)}</button></form>"
        f'<form class="signout" method="post" action="{esc(request.route_url("signout"))}">{csrf}'
        "<button>Sign out</button></form>"
    )
