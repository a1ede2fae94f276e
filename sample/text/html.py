"""HTML page skeletons: a modern layout (header, nav, cookie banner, article, comments, sidebar,
footer) and a legacy table layout typical of older Korean sites. Boilerplate strings come from the
language resource module passed in."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from html import escape
from types import ModuleType


@dataclass
class Site:
    """A fictional web site: its look, its charset and where it declares that charset."""

    domain: str
    name: str
    lang: str
    kind: str  # news | blog | shop | community | gov | spam
    encoding: str  # Python codec used to encode bodies
    label: str  # charset label as the site writes it
    label_where: str  # header | header+meta | meta | meta_http_equiv | none | stale_meta
    layout: str  # modern | legacy
    cookie_banner: bool
    server: str
    ip: str
    footer: list[tuple[str, str, str]] = field(default_factory=list)  # (trap kind or "", value, text)
    staff: list[tuple[str, str]] = field(default_factory=list)  # (name, email)


@dataclass
class Page:
    """Content to lay out: title, paragraphs, and optional byline, comments and extra blocks."""

    title: str
    paragraphs: list[str]
    byline: str = ""
    comments: list[tuple[str, str]] = field(default_factory=list)
    sidebar: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    raw_blocks: list[str] = field(default_factory=list)  # already-escaped HTML appended to the body


_COMMENTS_LABEL = {"ko": "댓글", "en": "Comments", "ja": "コメント", "zh": "评论"}


def _t(s: str) -> str:
    return escape(s, quote=False)


def _asset(site: Site, name: str) -> str:
    return hashlib.sha1(f"{site.domain}/{name}".encode()).hexdigest()[:10]


def meta_tag(site: Site) -> str:
    if site.label_where in ("header+meta", "meta"):
        return f'<meta charset="{site.label}">'
    if site.label_where == "meta_http_equiv":
        return f'<meta http-equiv="Content-Type" content="text/html; charset={site.label}">'
    if site.label_where == "stale_meta":
        return '<meta http-equiv="Content-Type" content="text/html; charset=euc-kr">'
    return ""


def render(site: Site, page: Page, res: ModuleType, rng: random.Random, path: str) -> str:
    if site.layout == "legacy":
        return _legacy(site, page, res, rng)
    return _modern(site, page, res, rng, path)


def _nav(res: ModuleType, site: Site) -> list[str]:
    nav = res.NAV
    return nav.get(site.kind, nav["news"]) if isinstance(nav, dict) else nav


def _modern(site: Site, page: Page, res: ModuleType, rng: random.Random, path: str) -> str:
    out = ["<!DOCTYPE html>", f'<html lang="{site.lang}">', "<head>"]
    meta = meta_tag(site)
    if meta:
        out.append(meta)
    out += ['<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_t(page.title)} | {_t(site.name)}</title>",
            f'<meta property="og:title" content="{escape(page.title)}">',
            f'<link rel="canonical" href="https://{site.domain}{escape(path)}">',
            f'<link rel="stylesheet" href="/static/css/main.{_asset(site, "css")}.css">',
            "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
            f"gtag('js',new Date());gtag('config','G-{_asset(site, 'ga')[:8].upper()}');</script>",
            "</head>", f'<body class="{site.kind}">']
    if site.cookie_banner:
        buttons = "".join(f'<button type="button">{_t(b)}</button>' for b in res.COOKIE_BUTTONS)
        out.append(f'<div id="cookie-consent" class="cookie-banner"><p>{_t(res.COOKIE_BANNER)}</p>{buttons}</div>')
    nav = "".join(f'<li><a href="/section/{i + 1}">{_t(x)}</a></li>' for i, x in enumerate(_nav(res, site)))
    out.append(f'<header class="site-header"><a class="logo" href="/">{_t(site.name)}</a>'
               f'<nav class="gnb"><ul>{nav}</ul></nav>'
               '<form class="search" action="/search"><input type="text" name="q"></form></header>')
    out.append('<div class="container"><main id="content">')
    out.append('<article class="post">')
    out.append(f'<h1 class="entry-title">{_t(page.title)}</h1>')
    if page.byline:
        out.append(f'<div class="byline">{_t(page.byline)}</div>')
    out.append('<div class="entry-content">')
    out += [f"<p>{_t(p)}</p>" for p in page.paragraphs]
    out += page.raw_blocks
    out.append("</div>")
    if page.tags:
        out.append('<div class="tags">' + " ".join(f'<a href="/tag/{i}">#{_t(t)}</a>'
                                                    for i, t in enumerate(page.tags)) + "</div>")
    out.append("</article>")
    if page.comments:
        items = "".join(f'<li class="comment"><span class="nick">{_t(n)}</span> <p>{_t(c)}</p></li>'
                        for n, c in page.comments)
        label = _COMMENTS_LABEL.get(site.lang, "Comments")
        out.append(f'<section class="comments"><h3>{label} {len(page.comments)}</h3><ul>{items}</ul></section>')
    out.append("</main>")
    if page.sidebar:
        title = rng.choice(res.SIDEBAR_TITLES)
        items = "".join(f'<li><a href="/view/{rng.randint(10000, 99999)}">{_t(s)}</a></li>' for s in page.sidebar)
        out.append(f'<aside class="sidebar"><h3>{_t(title)}</h3><ol>{items}</ol></aside>')
    out.append("</div>")
    links = "".join(f'<li><a href="/about/{i}">{_t(x)}</a></li>' for i, x in enumerate(res.FOOTER_LINKS))
    footer = " | ".join(_t(text) for _, _, text in site.footer)
    out.append(f'<footer class="site-footer"><ul class="footer-links">{links}</ul>'
               f"<address>{footer}</address>"
               f'<p class="copyright">{_t(res.COPYRIGHT.format(year=2024, site=site.name))}</p></footer>')
    out.append(f'<script src="/static/js/app.{_asset(site, "js")}.js" defer></script>')
    out.append("</body>\n</html>\n")
    return "\n".join(out)


def _legacy(site: Site, page: Page, res: ModuleType, rng: random.Random) -> str:
    out = ["<html>", "<head>"]
    meta = meta_tag(site)
    if meta:
        out.append(meta)
    out += [f"<title>{_t(site.name)} - {_t(page.title)}</title>",
            "<style>td,body{font-size:12px;font-family:Gulim}a{color:#333;text-decoration:none}</style>",
            '<script language="javascript">function popup(u){window.open(u,"pop","width=400,height=300");}</script>',
            "</head>", '<body leftmargin="0" topmargin="0" bgcolor="#ffffff">',
            '<table width="900" border="0" cellpadding="0" cellspacing="0" align="center">']
    menu = " | ".join(f'<a href="/menu{i + 1}.html">{_t(x)}</a>' for i, x in enumerate(_nav(res, site)))
    out.append(f'<tr><td colspan="2"><img src="/img/logo.gif" alt="{escape(site.name)}"> {menu}</td></tr>')
    side = "<br>".join(f'<a href="/view.php?no={rng.randint(100, 9999)}">· {_t(s)}</a>' for s in page.sidebar)
    out.append(f'<tr><td width="180" valign="top" bgcolor="#f4f4f4">{side}</td><td valign="top">')
    out.append(f'<font size="4"><b>{_t(page.title)}</b></font><br>')
    if page.byline:
        out.append(f'<font color="#888888">{_t(page.byline)}</font><br><br>')
    out.append("<br><br>\n".join(_t(p) for p in page.paragraphs))
    out += page.raw_blocks
    if page.comments:
        out.append('<br><br><table width="100%" border="0">' + "".join(
            f"<tr><td width=\"80\"><b>{_t(n)}</b></td><td>{_t(c)}</td></tr>" for n, c in page.comments) + "</table>")
    out.append("</td></tr>")
    footer = "<br>".join(_t(text) for _, _, text in site.footer)
    out.append(f'<tr><td colspan="2" align="center"><font size="2" color="#666666">{footer}<br>'
               f"{_t(res.COPYRIGHT.format(year=2009, site=site.name))}</font></td></tr>")
    out.append("</table>\n</body>\n</html>\n")
    return "\n".join(out)
