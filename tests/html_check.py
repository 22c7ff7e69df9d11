#!/usr/bin/env python3
"""html_check.py - what an HTML page from `tlsinspect -f html` must be.

  html_check.py PAGE.html [--hostile]

Checks, each failure one line on stdout, exit 1 if any:
  - it parses, and every element is closed in order (strict nesting; void
    elements excepted), one <html>, <head>, <body>, a <title> and <meta charset>;
  - nothing is loaded from outside: no src/srcset/action/data/poster/formaction
    attribute, no href other than "#...", no <link>, <img>, <iframe>, <object>,
    <embed>, <base>; no "http:", "https:", "//", "url(" (except url(#...)) or
    "@import" in <style>, style= or <script>; no attribute value naming an
    http(s) or protocol-relative URL;
  - exactly the one known <script> (the print helper), no on* attributes;
  - with --hostile: the hostile fixture's strings appear as text, decoded
    ("<script>alert(1)</script>" and the SNI, SAN and ALPN markup).
"""
import re
import sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}
# SVG elements written self-closed (<line .../>)
SVG_EMPTY = {"line", "polygon", "rect", "circle", "path", "polyline", "ellipse"}
FORBIDDEN_TAGS = {"link", "img", "iframe", "object", "embed", "base", "frame", "audio",
                  "video", "source", "image", "use", "foreignobject"}
FORBIDDEN_ATTRS = {"src", "srcset", "action", "data", "poster", "formaction", "background",
                   "xlink:href", "ping"}
HOSTILE_TEXT = ["<script>alert(1)</script>", "\"><svg onload=alert(3)>.steven.lab",
                "<img src=x onerror=alert(2)>.steven.lab", "<b>h2</b>",
                # RFC 2253 as OpenSSL prints the subject: quotes and < escaped with "\"
                "O=\\\"Evil\\\" & \\<Co\\>"]


def outside_ref(text):
    """A reference out of the page in CSS or script text, or None."""
    for pat in (r"https?:", r"//", r"@import", r"url\(\s*(?!['\"]?#)"):
        m = re.search(pat, text, re.I)
        if m:
            return m.group(0)
    return None


class Check(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.counts = [], [], {}
        self.text, self.scripts, self.in_raw = [], [], None

    def err(self, msg):
        line, col = self.getpos()
        self.errors.append("line %d: %s" % (line, msg))

    def check_attrs(self, tag, attrs):
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.err("<%s %s=...>: event handler attribute" % (tag, name))
            if name in FORBIDDEN_ATTRS:
                self.err("<%s %s=%r>: loads a resource" % (tag, name, value))
            if name == "href" and not value.startswith("#"):
                self.err("<%s href=%r>: not a link inside the page" % (tag, value))
            if name == "style" and outside_ref(value):
                self.err("<%s style=%r>: refers outside the page" % (tag, value))
            if re.match(r"\s*(https?:|//)", value, re.I):
                self.err("<%s %s=%r>: a URL" % (tag, name, value))

    def handle_starttag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag in FORBIDDEN_TAGS:
            self.err("<%s>: an external resource element" % tag)
        self.check_attrs(tag, attrs)
        if tag in VOID:
            return
        self.stack.append(tag)
        if tag in ("style", "script"):
            self.in_raw = tag
            self.raw = []

    def handle_startendtag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag in FORBIDDEN_TAGS:
            self.err("<%s/>: an external resource element" % tag)
        self.check_attrs(tag, attrs)
        if tag not in VOID and tag not in SVG_EMPTY:
            self.err("<%s/>: self-closed element that is neither void nor SVG" % tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            self.err("</%s>: end tag of a void element" % tag)
            return
        if not self.stack:
            self.err("</%s> with nothing open" % tag)
            return
        top = self.stack.pop()
        if top != tag:
            self.err("</%s> closes <%s>" % (tag, top))
        if tag in ("style", "script"):
            body = "".join(self.raw)
            if outside_ref(body):
                self.err("<%s> refers outside the page: %s" % (tag, outside_ref(body)))
            if tag == "script":
                self.scripts.append(body)
            self.in_raw = None

    def handle_data(self, data):
        if self.in_raw:
            self.raw.append(data)
        else:
            self.text.append(data)

    def handle_decl(self, decl):
        if decl.lower() != "doctype html":
            self.err("unexpected declaration %r" % decl)


def main(argv):
    path = argv[1]
    hostile = "--hostile" in argv[2:]
    with open(path, encoding="utf-8") as f:
        page = f.read()
    c = Check()
    c.feed(page)
    c.close()
    if not page.startswith("<!DOCTYPE html>"):
        c.errors.append("does not start with <!DOCTYPE html>")
    if c.stack:
        c.errors.append("elements left open at the end: %s" % " ".join(c.stack))
    for tag in ("html", "head", "body", "title", "style"):
        if c.counts.get(tag) != 1:
            c.errors.append("%d <%s> elements, want 1" % (c.counts.get(tag, 0), tag))
    if 'charset="utf-8"' not in page:
        c.errors.append("no <meta charset=\"utf-8\">")
    if len(c.scripts) != 1 or "beforeprint" not in c.scripts[0]:
        c.errors.append("%d scripts; want exactly the print helper" % len(c.scripts))
    if hostile:
        text = "".join(c.text)
        for s in HOSTILE_TEXT:
            if s not in text:
                c.errors.append("hostile string not shown as text: %r" % s)
        if c.counts.get("svg", 0) < 1 or c.counts.get("b", 0) < 1:
            c.errors.append("expected the ladder <svg> and <b> markup of the page itself")
    for e in c.errors[:40]:
        print("html_check: %s: %s" % (path, e))
    return 1 if c.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
