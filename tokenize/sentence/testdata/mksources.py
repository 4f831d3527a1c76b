#!/usr/bin/env python3
"""Writes sources.jsonl: for each passage of gold.txt and heldout.txt, the raw text of its source
file around the passage, copied byte for byte, so that TestGoldFromCorpus can check every passage
against its source without the full corpora. (Passages whose file is in the bundled sample,
cmd/kiln/sample/corpus, are checked against that file; their excerpts check this script.)

Usage: python3 mksources.py CORPORA > sources.jsonl
CORPORA holds sotu/*.txt and moby-dick/chapter_N.txt (the 233 State of the Union addresses and
the 138 Moby Dick files, chapters and extracts, from which the gold sets were taken).

Each line: {"src": FILE, "sha256": of the whole source file, "offset": byte offset of "text" in
it, "text": the excerpt}. The excerpt runs from about CONTEXT bytes before the passage to about
CONTEXT bytes after it, cut at white space."""
import hashlib, json, os, re, sys

CONTEXT = 40
here = os.path.dirname(os.path.abspath(__file__))


def passages(path):
    src, sents = None, []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("# src: "):
            src, sents = line[len("# src: "):], []
        elif line.startswith("#"):
            continue
        elif line.strip() == "":
            if src:
                yield src, " ".join(sents)
            src = None
        else:
            sents.append(line)
    if src:
        yield src, " ".join(sents)


def main():
    corpora = sys.argv[1]
    seen = set()
    for gold in ("gold.txt", "heldout.txt"):
        for src, text in passages(os.path.join(here, gold)):
            raw_bytes = open(os.path.join(corpora, src), "rb").read()
            raw = raw_bytes.decode("utf-8")
            # Collapse runs of white space, remembering where each character came from.
            out, where = [], []
            for m in re.finditer(r"\S+", raw):
                if out:
                    out.append(" ")
                    where.append(m.start())
                for k, ch in enumerate(m.group()):
                    out.append(ch)
                    where.append(m.start() + k)
            collapsed = "".join(out)
            i = collapsed.find(text)
            if i < 0:
                sys.exit("%s: passage not found in %s: %.60r" % (gold, src, text))
            lo, hi = where[i], where[i + len(text) - 1] + 1
            lo = max(0, lo - CONTEXT)
            while lo > 0 and not raw[lo - 1].isspace():
                lo -= 1
            hi = min(len(raw), hi + CONTEXT)
            while hi < len(raw) and not raw[hi].isspace():
                hi += 1
            key = (src, lo, hi)
            if key in seen:
                continue
            seen.add(key)
            print(json.dumps({"src": src, "sha256": hashlib.sha256(raw_bytes).hexdigest(),
                              "offset": len(raw[:lo].encode("utf-8")), "text": raw[lo:hi]},
                             ensure_ascii=False))


main()
