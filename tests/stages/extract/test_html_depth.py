"""The nesting-depth estimate that keeps pathological pages away from the extractor."""

from __future__ import annotations

from stages.extract.html_depth import depth_over


def _nested(n: int, tag: str = "div") -> bytes:
    return f"<html><body>{f'<{tag} class=x>' * n}text{f'</{tag}>' * n}</body></html>".encode()


def test_deep_nesting_is_detected_at_the_cap():
    assert depth_over(_nested(3000), 2048)
    assert depth_over(_nested(3000, "SPAN"), 2048)
    assert not depth_over(_nested(2000), 2048)
    assert not depth_over(_nested(100), 99 + 3)  # html + body + 100 divs = 102 levels


def test_sloppy_but_flat_pages_are_not_deep():
    siblings = b"<div><a href=x>link</a></div>" * 5000
    unclosed = b"<p>para<br><img src=x><li>item<td>cell" * 3000
    stray_closers = b"</div>" * 5000 + b"<div></div>" * 100
    for body in (siblings, unclosed, stray_closers, b"if (a < b && c <= 5) x<1; " * 5000):
        assert not depth_over(b"<html><body>" + body + b"</body></html>", 50)
