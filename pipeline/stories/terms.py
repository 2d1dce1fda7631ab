"""Story terms and labels: the distinctive words of an article and c-TF-IDF story labels.

Across German and English the terms that separate two events of one theme are names, numbers
and product codes (Nvidia, H20, 2030, Ascend 920); stop words of both languages are dropped,
umlauts and compounds kept whole. Labels are c-TF-IDF: the terms most specific to a story
against the window's other stories.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import TYPE_CHECKING, Iterable, Sequence

if TYPE_CHECKING:  # labels read StoryState's term counts; the clustering does not need this module
    from pipeline.stories.cluster import StoryState

LABEL_TERMS = 4
LEAD_CHARS = 1500  # terms come from the title and the lead

STOP_WORDS_EN = frozenset("""
a about above after again against all almost also although always am among an and another any
are around as at be because been before being below between both but by can cannot could did do
does doing done down during each either else even ever every few for from further get gets got
had has have having he her here hers herself him himself his how however i if in into is it its
itself just last least less like made make makes many may me might more most much must my myself
near need neither new next no nor not now of off often on once one only onto or other others our
ours ourselves out over own per perhaps quite rather really said same say says see seen several
shall she should since so some still such than that the their theirs them themselves then there
these they this those though through thus to too toward towards under until up upon us use used
very via was we well were what when where whether which while who whom whose why will with within
without would yet you your yours yourself yourselves year years week weeks day days today
monday tuesday wednesday thursday friday saturday sunday percent per cent according people
company companies time first second third two three four five six seven eight nine ten
million billion thousand mr ms dr told including new news report reported reports says
""".split())

STOP_WORDS_DE = frozenset("""
aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes
auch auf aus bei beim bereits bin bis bisher bist da dabei dadurch dafür dagegen daher damit
danach dann dar darauf darf darin darum das dass dazu dein deine dem den denen denn der deren
des deshalb dessen die dies diese diesem diesen dieser dieses doch dort du durch ein eine einem
einen einer eines einige einigen einiger einiges einmal er es etwa etwas euch euer eure für gab
gegen gewesen gibt hab habe haben hat hatte hatten hier hin hinter ich ihm ihn ihnen ihr ihre
ihrem ihren ihrer ihres im immer in indem ins ist ja jede jedem jeden jeder jedes jedoch jetzt
kann kein keine keinem keinen keiner können könnte man manche manchem manchen mancher mehr
mein meine mich mir mit muss müssen nach nachdem nicht nichts noch nun nur ob oder ohne sehr
sei seien sein seine seinem seinen seiner seines seit seit sich sie sind so solche soll sollen
sollte sondern sowie über um und uns unser unsere unter viel viele vom von vor war waren warum
was weil weiter weitere welche welchem welchen welcher welches wenn wer werde werden wie wieder
will wir wird wirst wo wollen wollte würde würden zu zum zur zwar zwei drei vier fünf sechs
sieben acht neun zehn zwischen jahr jahre jahren jahres prozent millionen milliarden tag tage
montag dienstag mittwoch donnerstag freitag samstag sonntag woche wochen heute laut sagte sagt
erklärte hieß heißt neue neuen neuer neues neu erste ersten zweite dritte rund mehrere künftig
zudem sowie sodass sei wurden wurde worden soll sollen derzeit bislang inzwischen zuletzt
""".split())

STOP_WORDS = STOP_WORDS_EN | STOP_WORDS_DE
# A token: letters/digits, joined by inner hyphens or dots ("KI-Chip", "Apache-2.0", "H100").
_TOKEN = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*")


def terms_of(title: str | None, text: str | None, lead_chars: int = LEAD_CHARS) -> dict[str, tuple[str, bool]]:
    """Distinct content terms of an article: lower-case key -> (surface form as first written,
    whether it is in the title).

    Umlauts and German compounds stay whole ("Halbleiterfabrik", "KI-Chip"); stop words of both
    languages, one-letter tokens and pure numbers of one or two digits are dropped.
    """
    out: dict[str, tuple[str, bool]] = {}
    for in_title, source in ((True, title or ""), (False, (text or "")[:lead_chars])):
        for m in _TOKEN.finditer(source):
            surface = m.group(0)
            key = surface.lower()
            if key in out or key in STOP_WORDS or len(key) < 2:
                continue
            if key.isdigit() and len(key) < 3:
                continue
            out[key] = (surface, in_title)
    return out


def _is_label_term(key: str) -> bool:
    return not key.replace(".", "").replace("-", "").isdigit() and len(key) >= 3 or key.isupper()


def ctfidf_labels(stories: Sequence[StoryState], targets: Iterable[int], n_terms: int = LABEL_TERMS) -> dict[int, str]:
    """Labels for the stories at index ``targets``: c-TF-IDF against all given stories.

    tf = share of the story's members that use the term (a use in a title counts 1.5); idf =
    log(1 + A / f) with A the average number of term uses per story and f the term's uses over
    all stories (BERTopic's class-based TF-IDF, on member counts so one long article cannot
    dominate; titles break the ties of single-article stories).
    """
    totals: Counter = Counter()
    for s in stories:
        for key, entry in s.terms.items():
            totals[key] += entry[0]
    avg = sum(totals.values()) / max(1, len(stories))
    labels = {}
    for idx in targets:
        s = stories[idx]
        n = max(1, s.member_count_for_terms)
        scored = []
        for key, (count, surface, in_titles) in s.terms.items():
            if not _is_label_term(key):
                continue
            score = ((count + 0.5 * in_titles) / n) * math.log(1 + avg / totals[key])
            scored.append((-score, -count, key, surface))
        scored.sort()
        labels[idx] = " · ".join(surface for *_, surface in scored[:n_terms])
    return labels


__all__ = ["terms_of", "ctfidf_labels", "STOP_WORDS", "STOP_WORDS_EN", "STOP_WORDS_DE", "LABEL_TERMS",
           "LEAD_CHARS"]
