#!/usr/bin/env python3
"""Checks that a rendered notice holds every sentence of the seed notice, in
the seed's order.

usage: seed_sentences.py SEED RENDERED [--html]

The seed is split into lines; a line starting with a bullet is a list item
(its final full stop is list punctuation and is dropped); each line is split
into sentences after '.', '!', '?' or ':' followed by a capital, a digit, a
quote or a parenthesis. Only whitespace and typographic quotes are
normalised. Each sentence must occur in the rendered text after the previous
one. With --html the rendered file is parsed as HTML and its text is used.
Exits 1 and names every sentence that is missing or out of order."""
import html.parser
import re
import sys

QUOTES = {'\u201d': '"', '\u201c': '"', '\u201e': '"', '\u2018': "'",
          '\u2019': "'"}
SPLIT = re.compile(r'(?<=[.!?:])\s+(?=[A-Z\u00c4\u00d6\u00c50-9"(])')


def norm(s):
    for k, v in QUOTES.items():
        s = s.replace(k, v)
    return re.sub(r'\s+', ' ', s).strip()


def sentences(seed):
    out = []
    for line in seed.splitlines():
        line = line.strip()
        item = line.startswith('\u2022')
        if item:
            line = line[1:].strip()
        if not line:
            continue
        if item and line.endswith('.'):
            line = line[:-1]
        for s in SPLIT.split(norm(line)):
            if s:
                out.append(s)
    return out


class Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ('style', 'title'):
            self.skip += 1
        self.parts.append('\n')

    def handle_endtag(self, tag):
        if tag in ('style', 'title'):
            self.skip -= 1
        self.parts.append('\n')

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def main():
    seed = open(sys.argv[1], encoding='utf-8').read()
    rendered = open(sys.argv[2], encoding='utf-8').read()
    if '--html' in sys.argv[3:]:
        t = Text()
        t.feed(rendered)
        rendered = ''.join(t.parts)
    text = norm(rendered)
    pos, bad, n = 0, 0, 0
    for s in sentences(seed):
        n += 1
        i = text.find(s, pos)
        if i < 0:
            bad += 1
            print('%s: %s' % ('missing' if text.find(s) < 0
                              else 'out of order', s))
            continue
        pos = i + len(s)
    print('%d sentences of the seed, %d missing or out of order' % (n, bad))
    return 1 if bad or n < 50 else 0


if __name__ == '__main__':
    sys.exit(main())
