"""Write the long-context prompts of the classic-rating fixture suite (local-model-rating
0.3.0) into prompts/.

    python tests/data/suites/classic-rating/make_prompts.py

* prompts/needle-haystack.txt: a harbour station's season log (about 7k tokens) with one
  needle line in the middle; the question at the end asks for it.
  Answer: TULIP-5839.
* prompts/long-recall.txt: a town gazetteer (about 5k tokens) stating several facts, some
  of them deliberately similar (four towers, four step counts); the question asks for one.
  Answer: 212.

Deterministic: the filler comes from fixed templates and a fixed linear congruential
generator (not the random module), so the files are the same on every Python version.
The suite and the scripted fake answers quote parts of the questions; change them together.
"""

from __future__ import annotations

from pathlib import Path

NEEDLE = "Note for the relief keeper: the access code for the north archive door is TULIP-5839."
NEEDLE_QUESTION = (
    "Question: according to the station log above, what is the access code for the north "
    "archive door? Answer with the code only."
)
RECALL_QUESTION = (
    "Question: according to the gazetteer above, how many steps lead up the clock tower on "
    "Market Square? Answer with the number only."
)


class Lcg:
    """A tiny deterministic pseudo-random source (Numerical Recipes constants)."""

    def __init__(self, seed: int) -> None:
        self.state = seed

    def below(self, n: int) -> int:
        """An integer in [0, n)."""
        self.state = (1664525 * self.state + 1013904223) % 2**32
        return (self.state >> 8) % n

    def pick(self, items: list[str]) -> str:
        """One item of the list."""
        return items[self.below(len(items))]


WINDS = ["north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west"]
SKIES = ["clear", "overcast", "hazy", "showery", "foggy until noon", "bright with high cloud"]
CHORES = [
    "oiled the lamp gears and wiped the lens",
    "repainted the railing on the east jetty",
    "cleared weed from the slipway",
    "checked the mooring chains of the pilot boat",
    "replaced a cracked pane in the lantern room",
    "logged two fishing boats returning before dusk",
    "tested the fog horn and found it sound",
    "re-tarred the seams of the rowing dinghy",
    "counted the spare wicks and paraffin tins",
    "swept the spiral stair and aired the bunk room",
    "helped the harbour master lift a fouled anchor",
    "recalibrated the barometer against the town's reading",
]
SIGHTINGS = [
    "A pair of grey seals hauled out on the lower rocks.",
    "Gannets were diving a mile offshore all afternoon.",
    "The supply cutter passed without stopping.",
    "A yacht asked by radio for the depth over the bar.",
    "Driftwood piled up against the breakwater after the night tide.",
    "The ferry ran late because of the swell.",
    "No vessels were seen after midday.",
    "A heron stood on the slipway for most of the morning.",
]


def station_entry(day: int, rng: Lcg) -> str:
    """One day of the harbour station log: weather, tide, two chores, one sighting."""
    wind, sky = rng.pick(WINDS), rng.pick(SKIES)
    speed, tide = 5 + rng.below(40), 1 + rng.below(40) / 10
    first, second = rng.pick(CHORES), rng.pick(CHORES)
    if second == first:
        second = CHORES[(CHORES.index(first) + 5) % len(CHORES)]
    return (
        f"Day {day}. Wind from the {wind} at {speed} km/h, sky {sky}. The tide gauge read "
        f"{tide:.1f} m at high water. The keeper {first}, then {second}. {rng.pick(SIGHTINGS)}"
    )


def needle_haystack(days: int = 120) -> str:
    """The station log with the needle after the middle day, then the question."""
    rng = Lcg(20251124)
    lines = [
        (
            "Below is the log kept at the Greyhaven harbour station over one season. "
            "Read it carefully; a question about it follows at the end."
        ),
        "",
    ]
    for day in range(1, days + 1):
        lines.append(station_entry(day, rng))
        if day == days // 2:
            lines.append(NEEDLE)
    lines += ["", NEEDLE_QUESTION, ""]
    return "\n".join(lines)


PLACES = [
    "Quay Street",
    "the Old Mill",
    "Fenwick Lane",
    "the Corn Exchange",
    "Saltmarsh Road",
    "the Rope Walk",
    "Chapel Hill",
    "the Fish Market",
    "Orchard Row",
    "the Tannery Yard",
    "Gull Point",
    "the railway station",
    "Market Square",
    "St Aldhelm's church",
    "the Common",
    "Harbour Terrace",
    "Weavers' Close",
    "the Infirmary",
    "Bell Lane",
    "the Town Hall",
]
TRADES = [
    "coopers",
    "net makers",
    "chandlers",
    "printers",
    "clockmakers",
    "bakers",
    "glaziers",
    "saddlers",
]
SEASONS = ["spring", "summer", "autumn", "winter"]
REMARKS = [
    "Visitors often remark on the smell of tar and fresh bread that hangs about the place.",
    "The cobbles were relaid by the parish after a hard winter.",
    "Gas lamps were replaced by electric ones within living memory.",
    "Children still play a counting game here whose rules nobody has written down.",
    "A weekly market fills the space with stalls of cheese, rope and pottery.",
    "Old maps show a stream here that now runs in a culvert under the road.",
    "Residents keep window boxes of geraniums that win prizes most years.",
    "The place floods at the highest spring tides, and sandbags are stored nearby.",
]
# Facts of the gazetteer, keyed by the place whose section states them. Four towers with
# four step counts make the question a test of recall, not of spotting the only number.
FACTS = {
    "the Old Mill": "The bakery at the foot of the Old Mill opened in 1931.",
    "the railway station": "The old water tower behind the station is climbed by 96 steps.",
    "Gull Point": "The lighthouse at Gull Point has 148 steps to its lamp room.",
    "St Aldhelm's church": "The bell tower of St Aldhelm's church has 187 steps.",
    "Harbour Terrace": "The Hollin Isle ferry, which leaves from Harbour Terrace, is named Marigold.",
    "Market Square": (
        "The clock tower on Market Square has 212 steps from its door to the clock chamber."
    ),
    "the Town Hall": "The town library, in the Town Hall's east wing, holds 41,000 books.",
}


def gazetteer_section(place: str, rng: Lcg) -> str:
    """One gazetteer paragraph: trades, history, a remark or two, and its fact if any."""
    trade, other = rng.pick(TRADES), rng.pick(TRADES)
    century, families = 14 + rng.below(5), 3 + rng.below(20)
    first = rng.below(len(REMARKS))
    second = (first + 1 + rng.below(len(REMARKS) - 1)) % len(REMARKS)  # never the same one
    sentences = [
        f"{place[0].upper() + place[1:]}.",
        (
            f"The first records of {place} date from the {century}th century, when {trade} "
            f"worked there, and {families} families still trace their roots to it."
        ),
        f"In {rng.pick(SEASONS)} the {other} of the town hold a small fair here.",
        REMARKS[first],
        REMARKS[second],
        f"The walk from {place} to {rng.pick(PLACES)} takes about {4 + rng.below(20)} minutes.",
    ]
    if place in FACTS:
        sentences.insert(3, FACTS[place])
    return " ".join(sentences)


def long_recall(rounds: int = 3) -> str:
    """The gazetteer (every place described `rounds` times over), then the question."""
    rng = Lcg(1931)
    parts = [
        (
            "Below is a gazetteer of the town of Bramblewick, compiled from parish records. "
            "Read it carefully; a question about it follows at the end."
        ),
        "",
    ]
    for n in range(rounds):
        for place in PLACES:
            section = gazetteer_section(place, rng)
            if n > 0:  # state each fact once only: later rounds describe, never repeat it
                section = section.replace(" " + FACTS.get(place, "\0"), "")
            parts.append(section)
    parts += ["", RECALL_QUESTION, ""]
    return "\n".join(parts)


PROMPTS = {"needle-haystack.txt": needle_haystack, "long-recall.txt": long_recall}


def main() -> None:
    """Write every prompt file into prompts/ beside this script."""
    out = Path(__file__).resolve().parent / "prompts"
    out.mkdir(exist_ok=True)
    for name, make in PROMPTS.items():
        text = make()
        (out / name).write_text(text, encoding="utf-8")
        print(f"wrote {out / name}: {len(text)} characters, about {len(text) // 4} tokens")


if __name__ == "__main__":
    main()
