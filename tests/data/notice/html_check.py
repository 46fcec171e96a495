#!/usr/bin/env python3
"""Checks a rendered HTML notice with Python's html.parser.

usage: html_check.py FILE LANG

It must declare <html lang="LANG"> and a charset, have one h1 and h2
headings, lists as <ul><li>, a <title>, and no script, no event handler
attributes, no iframe/object/embed/link/img and no URL to fetch (src, href
to http or a Content-Security-Policy other than default-src 'none')."""
import html.parser
import sys


class Check(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = {}
        self.lang = None
        self.problems = []
        self.stack = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        a = dict(attrs)
        if tag == 'html':
            self.lang = a.get('lang')
        if tag in ('script', 'iframe', 'object', 'embed', 'link', 'img',
                   'base', 'form'):
            self.problems.append('element <%s>' % tag)
        for k, v in attrs:
            if k.startswith('on'):
                self.problems.append('event handler %s' % k)
            if k in ('src', 'href', 'action'):
                self.problems.append('attribute %s' % k)
            if k == 'content' and 'Content-Security-Policy' in a.get(
                    'http-equiv', '') and "default-src 'none'" not in v:
                self.problems.append('weak CSP')
        if tag == 'li' and (not self.stack or self.stack[-1] != 'ul'):
            self.problems.append('<li> outside a list')
        if tag not in ('meta', 'br'):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass


def main():
    doc = open(sys.argv[1], encoding='utf-8').read()
    c = Check()
    c.feed(doc)
    want = sys.argv[2]
    if c.lang != want:
        c.problems.append('lang is %r, not %r' % (c.lang, want))
    for tag, least in (('h1', 1), ('h2', 5), ('ul', 3), ('li', 10),
                       ('title', 1), ('style', 1), ('main', 1)):
        if c.tags.get(tag, 0) < least:
            c.problems.append('fewer than %d <%s>' % (least, tag))
    if c.tags.get('h1', 0) != 1:
        c.problems.append('not exactly one <h1>')
    if not doc.startswith('<!DOCTYPE html>'):
        c.problems.append('no doctype')
    if '<meta charset="utf-8">' not in doc:
        c.problems.append('no charset')
    for p in c.problems:
        print(p)
    return 1 if c.problems else 0


if __name__ == '__main__':
    sys.exit(main())
