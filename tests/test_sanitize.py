"""Incoming HTML keeps only what Mastodon shows."""

from __future__ import annotations

from inbox.sanitize import plain_text, sanitize_html


def test_mentions_keep_their_microformat_classes_only():
    html = ('<p><span class="h-card evil"><a href="https://x.example/@a" '
            'class="u-url mention big" onclick="steal()">@a</a></span></p>')
    assert sanitize_html(html) == (
        '<p><span class="h-card"><a href="https://x.example/@a" class="u-url mention" '
        'target="_blank" rel="nofollow noopener noreferrer">@a</a></span></p>')


def test_scripts_images_and_unknown_tags_go():
    out = sanitize_html('<script>alert(1)</script><img src="x" onerror="y"><div>text</div>'
                        '<style>p{}</style><iframe src="https://e.example"></iframe>')
    assert out == "text"


def test_only_safe_link_schemes_survive():
    out = sanitize_html('<a href="javascript:alert(1)">j</a> <a href="data:text/html,x">d</a> '
                        '<a href="gemini://g.example/">g</a>')
    assert "javascript" not in out and "data:" not in out
    assert 'href="gemini://g.example/"' in out


def test_allowed_formatting_is_kept():
    html = ("<p><strong>b</strong><em>i</em><del>d</del><code>c</code></p>"
            "<blockquote><ul><li>x</li></ul></blockquote><pre>p</pre><br>")
    assert sanitize_html(html) == html


def test_plain_text_strips_markup_and_unescapes():
    assert plain_text("<b>Tom</b> &amp; Jerry") == "Tom & Jerry"
    assert sanitize_html(None) == "" and plain_text(None) == ""
