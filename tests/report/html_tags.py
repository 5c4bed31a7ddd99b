"""A page's start tags (with attributes) and text, parsed with the standard library's HTMLParser."""

from __future__ import annotations

from html.parser import HTMLParser


class TagsAndText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(html: str) -> TagsAndText:
    p = TagsAndText()
    p.feed(html)
    return p
