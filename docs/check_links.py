#!/usr/bin/env python3
"""Checks every link of the built manual (mdBook's HTML output).

Usage: check_links.py <built book directory>      (CI: target/book)

- An internal link (a relative path, or an absolute one under the book's root) must name a
  file the build wrote, and its #anchor, if any, must be an `id` (or `name`) in that file.
  A bare `#anchor` must exist in the page itself.
- External links (http, https, mailto) cannot be followed from CI (only the package
  registries are reachable), so only their syntax is checked: a known scheme and a host.

Prints one line per broken link (page, link, why) and exits 1 if there is any. Standard
library only.
"""

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

# Files mdBook writes that are not pages of the manual (theme assets, generated helpers).
SKIP_PAGES = {"toc.html", "404.html"}
EXTERNAL = {"http", "https", "mailto"}


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.links = []  # (attribute, value, line)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name") and tag != "meta":
                self.ids.add(value)
            elif (name == "href" and tag in ("a", "link", "area")) or (
                name == "src" and tag in ("img", "script", "iframe", "source")
            ):
                self.links.append((name, value, self.getpos()[0]))


def parse(path):
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def main(book):
    book = book.resolve()
    pages = {p: parse(p) for p in sorted(book.rglob("*.html"))}
    if not pages:
        print(f"{book}: no HTML files; build the book first (mdbook build docs)")
        return 1
    problems = []
    checked = external = 0
    for path, page in pages.items():
        if path.name in SKIP_PAGES:
            continue
        where = path.relative_to(book)
        for attribute, link, line in page.links:
            parts = urlsplit(link)
            if parts.scheme in EXTERNAL:
                external += 1
                if parts.scheme == "mailto":
                    ok = "@" in parts.path
                else:
                    ok = bool(parts.netloc) and " " not in link
                if not ok:
                    problems.append(f"{where}:{line}: {link}: not a well-formed external link")
                continue
            if parts.scheme:
                if parts.scheme != "javascript":
                    problems.append(f"{where}:{line}: {link}: unexpected scheme")
                continue
            checked += 1
            target_path = unquote(parts.path)
            if not target_path:
                target = path
            elif target_path.startswith("/"):
                target = book / target_path.lstrip("/")
            else:
                target = (path.parent / target_path).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                problems.append(f"{where}:{line}: {link}: no such file in the built book")
                continue
            if book not in target.parents and target != book:
                problems.append(f"{where}:{line}: {link}: points outside the book")
                continue
            if parts.fragment and target.suffix == ".html":
                fragment = unquote(parts.fragment)
                if fragment not in pages[target].ids:
                    problems.append(
                        f"{where}:{line}: {link}: no id \"{fragment}\" in {target.relative_to(book)}"
                    )
    for problem in problems:
        print(problem)
    print(
        f"links: {checked} internal checked (files and anchors), {external} external "
        f"(syntax only: CI cannot reach them), {len(problems)} broken, in {len(pages)} files"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1])))
