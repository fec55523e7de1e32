"""A hostile MovieLens-shaped archive, generated: ratings.csv + movies.csv in a zip whose user ids, item ids,
titles, genres and file name carry Markdown, HTML, links (``https:``, ``javascript:``), images, LaTeX, Streamlit
colour directives and icons, SVG, bidi and zero-width characters, CR/LF newlines and a 5,000-character string.
Each payload wraps a token (``T`` + a number) that no page writes by itself, so a test can tell an element the
data created (the token without the payload's markup around it) from the same text shown literally (the whole
payload)."""

from __future__ import annotations

import csv
import io
import random
import zipfile

EVIL = "evil.example"
"""The only host the payloads link to: any request or link to it comes from the data."""

TEMPLATES = (
    "[{t}](https://" + EVIL + "/l/{t})",
    "![{t}](https://" + EVIL + "/i/{t}.png)",
    "<a href=\"https://" + EVIL + "/a/{t}\">{t}</a>",
    "<img src=\"https://" + EVIL + "/img/{t}.png\" alt=\"{t}\">",
    "<b>{t}</b>",
    "**{t}**",
    "__{t}__",
    "<strong>{t}</strong>",
    "*{t}*",
    ":red[{t}]",
    ":blue-background[{t}]",
    "<span style=\"color:red\">{t}</span>",
    "<i>{t}</i>",
    "$\\color{{red}}{{{t}}}$",
    "$$\\href{{https://" + EVIL + "/h/{t}}}{{{t}}}$$",
    "`{t}`",
    "~~{t}~~",
    "<https://" + EVIL + "/auto/{t}>",
    "https://" + EVIL + "/bare/{t}",
    "<sup>{t}</sup>",
    "# {t}",
    "> {t}",
    "<img src=x onerror=\"fetch('https://" + EVIL + "/e/{t}')\">",
    "[{t}](javascript:alert('{t}'))",
    "$\\href{{https://" + EVIL + "/h1/{t}}}{{{t}}}$",
    ":blue[{t}]",
    "<svg><a href=\"https://" + EVIL + "/s/{t}\"><text>{t}</text></a></svg>",
    "\u202e{t}\u200b\u2066x\u2069",
    "line\r\n# {t}\r\n- item",
    ":material/home: {t} :smile:",
    "<details open><summary>{t}</summary></details>",
    "&lt;b&gt;{t}&amp;",
    "- [ ] {t}",
    "1. {t}",
    "| {t} | x |\n|---|---|",
)
"""Markup a renderer might interpret; ``{t}`` is the token it wraps."""


def payloads(start: int = 1) -> list[tuple[str, str]]:
    """``(token, payload)`` for every template, tokens numbered from ``start``."""
    return [(f"T{start + n:03d}Q", template.format(t=f"T{start + n:03d}Q")) for n, template in enumerate(TEMPLATES)]


def as_file_name(payload: str) -> str:
    """``payload`` as a browser sends it in an upload's name: no "/" (a browser cuts the name there; "\\"
    stands for it, as in a phishing name ``https:\\example.com\\login``) and no '"' (sent as %22)."""
    return payload.replace("//", "/").replace("/", "\\").replace('"', "'")


def hostile_archive(n_users: int = 30, n_items: int = 40, seed: int = 0) -> tuple[str, bytes, dict[str, str]]:
    """``(file name, zip bytes, {token: payload})``: a MovieLens latest-small layout whose ids, titles, genres and
    name are hostile. Every user rates about half the items, ratings 1-5 (whole and half stars)."""
    rng = random.Random(seed)
    shown: dict[str, str] = {}

    def take(start: int, count: int = len(TEMPLATES), as_name: bool = False) -> list[str]:
        pairs = [(token, as_file_name(payload) if as_name else payload) for token, payload in payloads(start)]
        shown.update(pairs[:count])
        return [payload for _, payload in pairs[:count]]

    title_payloads = take(100)
    user_payloads = take(200)
    item_payloads = take(300)
    genre_payloads = take(400)
    name_payloads = take(500, 12, as_name=True)
    long_token = "T999Q"
    shown[long_token] = "**" + long_token + "**"
    long_title = ("**" + long_token + "** " + " ".join(title_payloads) + " ").ljust(5000, "x")
    users = [f"{user_payloads[n % len(user_payloads)]} u{n}" if n < len(user_payloads) else str(n)
             for n in range(n_users)]
    items = [item_payloads[n] if n < len(item_payloads) // 2 else str(1000 + n) for n in range(n_items)]
    titles = [long_title if n == 0 else f"{title_payloads[n % len(title_payloads)]}\nline two of {n} (1999)"
              for n in range(n_items)]
    genres = ["|".join(genre_payloads[n % len(genre_payloads):][:2] or genre_payloads[:2]) for n in range(n_items)]
    ratings = io.StringIO()
    writer = csv.writer(ratings, lineterminator="\n")
    writer.writerow(["userId", "movieId", "rating", "timestamp"])
    for u, user in enumerate(users):
        for i, item in enumerate(items):
            if rng.random() < 0.55 or i == u % n_items:
                writer.writerow([user, item, rng.choice([1, 2, 3, 3.5, 4, 4.5, 5]), 964982703 + u * 1000 + i])
    movies = io.StringIO()
    writer = csv.writer(movies, lineterminator="\n")
    writer.writerow(["movieId", "title", "genres"])
    for item, title, genre in zip(items, titles, genres):
        writer.writerow([item, title, genre])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as folder:
        folder.writestr("ml-hostile/ratings.csv", ratings.getvalue())
        folder.writestr("ml-hostile/movies.csv", movies.getvalue())
    name = " ".join(name_payloads) + ".zip"
    return name, archive.getvalue(), shown
