"""Write bench/extract/gold/<page>.txt from the hand-picked block numbers in gold_spec.json.

How the gold was made: `python bench/extract/make_gold.py --list PAGE` prints every visible
text block of a page (paragraphs, headings, list items, quotes, captions, text-bearing divs)
with a number (a div's text that sits between its child elements is listed last,
as `div*`); a person read each page's list and wrote down, in gold_spec.json, the blocks
that are the article: standfirst, paragraphs, subheads and quotes in order — not the headline,
byline, dateline, captions, "read more"/related links, newsletter or comment boxes, navigation.
Neither extractor's output was used to choose them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from lxml import html as lxml_html

HERE = Path(__file__).resolve().parent
PAGES = HERE.parents[1].parent / "shared" / "data" / "html"
sys.path.insert(0, str(HERE.parents[1]))

from searchkit.extract.encoding import decode  # noqa: E402

_TAGS = ("p", "h1", "h2", "h3", "h4", "h5", "blockquote", "li", "figcaption", "td", "pre", "div")


def blocks(path: Path) -> list[tuple[str, str]]:
    """(tag, text) of each visible block, in document order; <br> kept as a line break."""
    tree = lxml_html.document_fromstring(decode(path.read_bytes()).encode("utf-8"),
                                         parser=lxml_html.HTMLParser(encoding="utf-8"))
    for bad in tree.xpath("//script | //style | //noscript"):
        bad.drop_tree()
    for br in tree.iter("br"):
        br.tail = "\n" + (br.tail or "")
    found, loose = [], []
    for el in tree.iter(*_TAGS):
        if el.tag == "div":
            own = (el.text or "") + "".join(child.tail or "" for child in el)
            if len((el.text or "").split()) < 8 and len(own.split()) >= 8:
                loose.append(("div*", own))
        if el.tag == "div":
            direct = (el.text or "").strip()
            if len(direct.split()) < 8:
                continue
            text = el.text_content() if not el.xpath("./p | ./div") else direct
        else:
            if el.xpath("ancestor::p | ancestor::blockquote | ancestor::li"):
                continue
            text = el.text_content()
        lines = [" ".join(line.split()) for line in text.split("\n")]
        text = "\n".join(line for line in lines if line)
        if text:
            found.append((el.tag, text))
    for tag, text in loose:  # text between a div's child elements: numbered after the others
        lines = [" ".join(line.split()) for line in text.split("\n")]
        found.append((tag, "\n".join(line for line in lines if line)))
    return found


def numbers(spec: list) -> list[int]:
    out = []
    for item in spec:
        if isinstance(item, list):
            out += range(item[0], item[1] + 1)
        else:
            out.append(item)
    return out


def main() -> None:
    if sys.argv[1:2] == ["--list"]:
        for i, (tag, text) in enumerate(blocks(PAGES / sys.argv[2])):
            print(f"{i}\t{tag}\t{text[:100]}".replace("\n", " / "))
        return
    spec = json.loads((HERE / "gold_spec.json").read_text("utf-8"))
    (HERE / "gold").mkdir(exist_ok=True)
    for page, chosen in spec["pages"].items():
        found = blocks(PAGES / page)
        paragraphs = [line for i in numbers(chosen) for line in found[i][1].split("\n")]
        (HERE / "gold" / (page + ".txt")).write_text("\n\n".join(paragraphs) + "\n", "utf-8")
        print(f"{page}: {len(paragraphs)} paragraphs")


if __name__ == "__main__":
    main()
