"""Context-sweep material: seeded filler text with a needle in it, and the token estimate.

A ``sweep: {kind: context, sizes: [...]}`` case runs once per size, each time with a
haystack of about that many tokens. The haystack is made here from a seed, never shipped as
text: sentences built from small word lists (:data:`TEMPLATES` and the lists below), each
sentence from one 64-bit output of :class:`evaluator.draw.Rng` keyed by ``(seed,
"haystack")``. The filler has no digits, so a needle holding a number is the only number in
the text. A larger size continues the same sentences (the smaller haystack's filler is a
prefix of the larger one's), with the needle at the sentence boundary nearest
``depth_percent`` of the filler (0: first, 100: last).

:func:`estimate_tokens` is the one token count both shells use (to size haystacks and to
skip a prompt that cannot fit a model's context). It counts what BPE tokenizers split on:

* a run of ASCII letters (a word, or the letters of an identifier): 1 token;
* an ASCII digit: 1 (Qwen, SmolLM, Mistral and Llama 2 give every digit its own token);
* any other character that is not whitespace (punctuation, symbols): 1;
* a non-ASCII letter or symbol: 1 below U+0800 (accents, Greek, Cyrillic, Hebrew, Arabic),
  2 from U+0800 (CJK, emoji and most other scripts);
* whitespace: 0.

Measured against SmolLM2's tokenizer (49k vocabulary; the table is in
``tests/test_haystack.py``) the estimate is 0.8 to 1.08 of the real count on English prose,
Markdown, code, YAML, JSON and numbers, 0.92 on the haystack filler, 1.15 on Chinese and
Russian, and 0.73 on German (long compound words). Tokenizers with larger vocabularies
(Llama 3, Qwen) split English into fewer pieces, so a caller deciding whether a prompt fits
a context should keep a margin (the filler of a 4,096-token haystack is about 4,450 SmolLM2
tokens).
"""

from __future__ import annotations

import re

from evaluator.draw import Rng

MAX_TOKENS = 1 << 20  # 1,048,576: the largest context any model advertises today
_WORD = re.compile(r"[A-Za-z]+")
_UNCOUNTED = re.compile(r"[A-Za-z\s]+")

ADJECTIVES = (
    "quiet", "narrow", "wooden", "golden", "pale", "dusty", "green", "heavy", "small",
    "broad", "silver", "gentle", "rusty", "bright", "crooked", "patient", "careful", "tall",
    "faded", "velvet", "sturdy", "windy", "copper", "humble", "solemn", "cheerful", "misty",
    "painted", "hollow", "linen", "shallow", "weathered")
NOUNS = (
    "lantern", "ferryman", "basket", "orchard", "miller", "bridge", "weaver", "kettle",
    "harbor", "shepherd", "carpenter", "notebook", "chapel", "blanket", "garden", "teacher",
    "barrel", "fisherman", "wagon", "library", "baker", "compass", "window", "gardener",
    "cottage", "ladder", "potter", "meadow", "traveler", "workshop", "satchel", "clockmaker")
VERBS = (
    "carried", "painted", "moved", "found", "watched", "mended", "followed", "cleaned",
    "lifted", "folded", "gathered", "visited", "polished", "pushed", "pulled", "opened",
    "guarded", "sketched", "traded", "borrowed", "washed", "measured", "wrapped", "noticed",
    "repaired", "described", "studied", "praised", "carved", "admired", "packed", "steadied")
PLACES = (
    "old mill", "river bend", "market square", "stone wall", "village well", "north road",
    "lighthouse", "town hall", "low hills", "east gate", "harbor steps", "birch wood",
    "school yard", "bakery door", "long pier", "inn kitchen", "chapel garden", "salt marsh",
    "apple barn", "high pasture", "toll bridge", "city wall", "quiet lane", "boat shed",
    "olive grove", "station platform", "weaving room", "herb garden", "upper meadow",
    "cellar stairs", "ferry landing", "courtyard")
TIMES = (
    "at dawn", "before noon", "after the rain", "in the evening", "by late afternoon",
    "during the storm", "on market day", "before supper", "after the festival",
    "at first light", "by midnight", "in early spring", "during the harvest",
    "after the meeting", "before the frost", "at the turn of the tide", "in the quiet hours",
    "on a windy morning", "late in the season", "after the long winter",
    "before the bells rang", "at sunset", "in the middle of summer", "on the way home",
    "soon after breakfast", "during the fair", "at the end of the week", "in autumn",
    "after the flood", "before the guests arrived", "at the close of day",
    "while the kettle boiled")
ADVERBS = (
    "slowly", "carefully", "quietly", "gladly", "twice", "again", "early", "patiently",
    "gently", "proudly", "briefly", "happily", "silently", "calmly", "boldly", "kindly",
    "neatly", "warmly", "freely", "firmly", "softly", "eagerly", "loosely", "barely",
    "openly", "plainly", "rarely", "wisely", "gravely", "lightly", "closely", "honestly")
PEOPLE = (
    "Mara", "Tobin", "Elsa", "Corin", "Ilse", "Bram", "Nadia", "Oskar", "Petra", "Lucan",
    "Greta", "Fenna", "Anselm", "Runa", "Hale", "Sabine", "Jory", "Wren", "Dario", "Livia",
    "Tamsin", "Edric", "Yara", "Milo", "Selma", "Kasimir", "Odile", "Brann", "Vera", "Idris",
    "Maren", "Leif")
TEMPLATES = (
    "The {a} {n} {v} the {a2} {n2} near the {p}.",
    "{T}, {w} {v} the {a} {n} by the {p}.",
    "Nobody {v} the {n} {d}, so the {a} {n2} stayed by the {p}.",
    "Near the {p}, the {n} {v} the {n2} {d} {t}.",
    "{w} said the {a} {n} had {v} the {n2} {t}.",
    "The {a} {n} and the {a2} {n2} were {v} {d} beside the {p}.",
    "The {n} by the {p} looked {a}, and {w} {v} it {t}.",
    "{T}, the {a} {n} {v} the {n2} {d}.")


def _sentence(bits: int) -> tuple[str, str]:
    """One sentence and the separator after it, from 64 random bits (5 bits per word)."""
    time = TIMES[(bits >> 33) & 31]
    sentence = TEMPLATES[bits & 7].format(
        a=ADJECTIVES[(bits >> 3) & 31], a2=ADJECTIVES[(bits >> 8) & 31],
        n=NOUNS[(bits >> 13) & 31], n2=NOUNS[(bits >> 18) & 31], v=VERBS[(bits >> 23) & 31],
        p=PLACES[(bits >> 28) & 31], t=time, T=time[0].upper() + time[1:],
        d=ADVERBS[(bits >> 38) & 31], w=PEOPLE[(bits >> 43) & 31])
    return sentence, "\n\n" if (bits >> 48) & 7 == 0 else " "


def estimate_tokens(text: str) -> int:
    """The token estimate both shells use (the rule is in the module docstring)."""
    words = len(_WORD.findall(text))
    rest = _UNCOUNTED.sub("", text)  # digits, punctuation and every non-ASCII character
    if rest.isascii():
        return words + len(rest)
    return words + len(rest) + sum(1 for ch in rest if ch >= "\u0800")


def haystack(size_tokens: int, seed: int, needle: str, depth_percent: float) -> str:
    """About ``size_tokens`` tokens of seeded filler with ``needle`` at ``depth_percent``.

    By :func:`estimate_tokens` the result is at most ``size_tokens`` (unless the needle
    alone is more) and at most one sentence (under 25 tokens) less. ``depth_percent`` is 0
    to 100; a size is 1 to :data:`MAX_TOKENS`. Raises ValueError otherwise.
    """
    if isinstance(size_tokens, bool) or not isinstance(size_tokens, int) \
            or not 1 <= size_tokens <= MAX_TOKENS:
        raise ValueError(f"size must be a whole number from 1 to {MAX_TOKENS:,}, "
                         f"got {size_tokens!r}")
    if isinstance(depth_percent, bool) or not isinstance(depth_percent, (int, float)) \
            or not 0 <= depth_percent <= 100:
        raise ValueError(f"depthPercent must be a number from 0 to 100, got {depth_percent!r}")
    # whitespace counts 0 and a word ends at a space, so the estimate of the whole is the
    # sum of the estimates of its sentences and of the needle
    budget = size_tokens - estimate_tokens(needle)
    rng = Rng.keyed(seed, "haystack")
    pieces: list[str] = []
    used = 0
    while True:
        sentence, sep = _sentence(rng.next64())
        cost = estimate_tokens(sentence)
        if used + cost > budget:
            break
        pieces.append(sentence + sep)
        used += cost
    at = _boundary(pieces, sum(len(p) for p in pieces), depth_percent)
    text = "".join(pieces[:at]) + (needle + " " if needle else "") + "".join(pieces[at:])
    return text[:-2] if text.endswith("\n\n") else text.removesuffix(" ")


def _boundary(pieces: list[str], total: int, depth_percent: float) -> int:
    """The index of the sentence boundary nearest ``depth_percent`` of ``total`` chars."""
    target = total * depth_percent / 100
    best, best_gap, done = 0, target, 0
    for i, piece in enumerate(pieces, start=1):
        done += len(piece)
        gap = abs(done - target)
        if gap < best_gap:
            best, best_gap = i, gap
        elif done > target:
            break
    return best
