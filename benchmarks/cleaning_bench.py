"""HTML cleaning benchmark: how long ``catalog.cleaning.clean_html`` takes on hostile input
and on an ordinary catalog's HTML.

The hostile shapes are the ones its tests bound by work (function calls, not seconds):
5 MB of table rows, 100,000 nested ``<div>`` and ``<b>``, and 400 kB of each construct that
makes the stdlib ``html.parser`` quadratic on Python 3.11.7 (gh-135462).

    python -m benchmarks.cleaning_bench [--repeat 3] [--products 2000]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

from catalog.cleaning import INPUT_FACTOR, clean_html

ROW = (
    '<tr style="border:1px solid #ccc"><td class="MsoNormal"><p><span style="font:Arial">'
    "Conductividad</span></p></td><td>0,1&ndash;200&nbsp;000 &micro;S/cm &plusmn;0,5 %"
    "</td></tr>\n"
)
UNITS = ['<a x="', "<a x='", "<!--", "x<!--", "<a", "<![CDATA[", "</b", "<?", "&", "<td>", "<p>x"]


def cases() -> list[tuple[str, Callable[[], str]]]:
    table = "<table>" + ROW * (5_000_000 // len(ROW) + 1) + "</table>"
    divs = "<div>" * 100_000 + "texto interior" + "</div>" * 100_000
    bold = "<b>" * 100_000 + "texto interior" + "</b>" * 100_000
    out: list[tuple[str, Callable[[], str]]] = [
        ("5 MB of table rows", lambda: clean_html(table)),
        ("100k nested div, max_chars 60k", lambda: clean_html(divs, max_chars=60_000)),
        ("100k nested div, defaults", lambda: clean_html(divs)),
        ("100k nested b, max_chars 60k", lambda: clean_html(bold, max_chars=60_000)),
    ]
    for unit in UNITS:
        html = unit * (INPUT_FACTOR * 20_000 // len(unit))
        out.append((f"400 kB of {unit!r}", lambda html=html: clean_html(html)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="HTML cleaning benchmark.")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--products", type=int, default=2000)
    args = parser.parse_args()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"clean_html, best of {args.repeat} (s); load average {load}")
    for label, run in cases():
        best = float("inf")
        for _ in range(args.repeat):
            started = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - started)
        print(f"{label:<36}{best:>8.3f}")

    from benchmarks.catalog_data import generate

    products = generate(args.products, 2026)
    started = time.perf_counter()
    for p in products:
        clean_html(p.description_html)
        clean_html(p.specs_html)
    seconds = time.perf_counter() - started
    print(f"generated catalog: {len(products) / seconds:.0f} products/s ({args.products} products)")
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average {load}")


if __name__ == "__main__":
    main()
