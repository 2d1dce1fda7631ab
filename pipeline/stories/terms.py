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

from pipeline.stories.actors import is_role_key, role_keys
from pipeline.stories.event_kinds import kind_keys
from pipeline.stories.evidence import FIGURE_PREFIX, evidence_in

if TYPE_CHECKING:  # labels read StoryState's term counts; the clustering does not need this module
    from pipeline.stories.state import StoryState

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
außerdem anders zugleich trotzdem dennoch allerdings ebenfalls zunächst später damals gleichzeitig
stattdessen vielmehr demnach daneben deutsche deutscher deutschen europäische europäischen
""".split())

STOP_WORDS = STOP_WORDS_EN | STOP_WORDS_DE
# A token: letters/digits, joined by inner hyphens or dots ("KI-Chip", "Apache-2.0", "H100").
_TOKEN = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*")

# Verbs (and the commonest adjectives) of news English that a "nouns and names only" label must not show; lower-case English
# words ending in -ed, -ing or -ly are taken for verbs and adverbs without a list.
VERBS_EN = frozenset("""
accept accepts add adds agree agrees allow allows announce announces approve approves ask asks
back backs ban bans become becomes begin begins block blocks boost boosts bring brings build builds
buy buys call calls claim claims close closes come comes consider considers cut cuts deliver delivers
deny denies download downloads drop drops expand expands expect expects face faces fall falls file
files find finds give gives go goes grow grows halt halts hit hits hold holds join joins keep keeps
launch launches lead leads limit limits lose loses move moves open opens order orders pay pays plan
plans post posts push pushes raise raises reach reaches release releases remain remains require
requires restrict restricts rise rises run runs sell sells set sets ship ships show shows sign signs
slow slows start starts stop stops take takes tell tells tighten tightens top tops turn turns unveil
unveils urge urges want wants warn warns win wins widen widens worry worries put puts include includes
develop develops oppose opposes grant grants cover covers acquire acquires protect protects know knows
brace braces seek seeks hire hires face faces cite cites weigh weighs probe probes hike hikes
say see make makes get gets stay stays help helps lift lifts mull mulls eye eyes vow vows
became began bought brought came fell found gave grew held kept led left lost paid ran rose saw sent
sold spent stood took went won wrote built
prepare prepares draft drafts draw draws decide decides bet bets bid bids roll rolls mature matures aim
aims return returns reach replace replaces struggle struggles double doubles fear fears
along across amid despite behind beyond ahead
major minor small big large high low key top latest early late former certain able likely possible
available unavailable
""".split())

LANGUAGES = ("de", "en")
_ADJECTIVE_ENDINGS_DE = ("isch", "ische", "ischer", "isches", "ischen", "ischem")
# predicative adjectives and participles that open German sentences with a capital ("Betroffen
# sind ...", "Geplant ist ..."): no nouns, so no label words
ADJECTIVES_DE = frozenset("""
betroffen geplant bekannt unklar klar fraglich möglich wichtig offen sicher nötig notwendig
vorgesehen gefragt gesucht erwartet verboten erlaubt entscheidend unverändert
""".split())
NAME = "*"  # the language tag of a name, number or product code: it reads the same in every language
_TITLE_CASE_SHARE = 0.7  # a title with this share of capitalised long words is in Title Case
_SENTENCE_START = frozenset(".!?:;\"'„“”«»()[]–—-|")


def guess_language(text: str) -> str:
    """'de' or 'en' by stop words, for an article whose feed gave no language."""
    words = [w.lower() for w in _TOKEN.findall(text[:2000])]
    de = sum(w in STOP_WORDS_DE for w in words)
    en = sum(w in STOP_WORDS_EN for w in words)
    return "de" if de > en else "en"


def _initial(source: str, start: int) -> bool:
    """Whether the token at ``start`` begins a sentence (its capital says nothing about it)."""
    i = start - 1
    while i >= 0 and source[i].isspace():
        i -= 1
    return i < 0 or source[i] in _SENTENCE_START


def _title_case(title: str) -> bool:
    long_words = [w for w in _TOKEN.findall(title) if len(w) > 3 and w[0].isalpha()]
    return bool(long_words) and sum(w[0].isupper() for w in long_words) / len(long_words) >= _TITLE_CASE_SHARE


def _kind(surface: str, capital_known: bool, language: str, lower_seen: bool = False) -> str | None:
    """The language tag of a token that is a noun or a name (NAME for names, numbers and codes),
    or None for verbs, function words and other words a label must not show."""
    key = surface.lower()
    if len(key) < 2 or key in STOP_WORDS:
        return None
    if any(c.isdigit() for c in surface):
        return None if key.isdigit() and len(key) < 3 else NAME
    if surface.isupper() and len(surface) > 1:  # acronyms: USA, METI, GPU
        return NAME
    if capital_known and (surface.isupper() or surface[0].isupper()):
        # mid-sentence capitals: names in English; nouns or names in German
        return NAME if language == "en" or any(c.isupper() for c in surface[1:]) else language
    if language == "de":
        # a capital at a sentence start on an -isch adjective ("Chinesischer Konzern ...") or an
        # adverb says nothing; German nouns are written with a capital everywhere
        if surface[0].islower() or key in STOP_WORDS_DE or key in ADJECTIVES_DE or lower_seen \
                or key.endswith(_ADJECTIVE_ENDINGS_DE):
            return None  # (a word the text also writes in lower case is no noun either)
        return language
    if key in VERBS_EN or key.endswith(("ed", "ing", "ly")):
        return None
    return language


def terms_of(title: str | None, text: str | None, lead_chars: int = LEAD_CHARS,
             language: str | None = None) -> dict[str, tuple[str, bool, str]]:
    """Distinct nouns, names, numbers and codes of an article: lower-case key -> (surface form,
    whether it is in the title, language tag: NAME for a name/number/code, else the language).

    Capitals decide what a word is where they carry meaning: mid-sentence in the text (English
    names, German nouns), not at a sentence start nor in a Title Case headline; there a word
    counts as a name when the article writes it with a capital mid-sentence elsewhere. Verbs and
    function words of both languages are dropped; umlauts and compounds stay whole. The states the
    title names as imposing a sanction, and the kinds of event it names, come as role keys
    (pipeline/stories/actors.py, event_kinds.py).
    """
    title, lead = title or "", (text or "")[:lead_chars]
    language = language if language in LANGUAGES else guess_language(f"{title} {lead}")
    capitals: set[str] = set()  # keys written with a capital mid-sentence somewhere
    tokens = []
    title_case = _title_case(title)
    evidence: list[tuple[str, str, bool]] = []  # (key, surface, in title): entities and figures
    for in_title, source in ((True, title), (False, lead)):
        found = evidence_in(source, language)
        evidence.extend((ev.key, ev.surface, in_title) for ev in found)
        spans = [(ev.start, ev.end) for ev in found if ev.replaces_words]
        for m in _TOKEN.finditer(source):
            if spans and any(start < m.end() and m.start() < end for start, end in spans):
                continue  # the words of an entity or a figure count once, as its key
            surface = m.group(0)
            known = not _initial(source, m.start()) and not (in_title and title_case)
            # a compound's name parts count too: "US-Regierung", "ESMC-Fabrik" and "EU-Sanktionen"
            # share US, ESMC and EU with the English report (lower-case parts like "self" do not)
            parts = [p for p in surface.split("-") if p[:1].isupper() or any(c.isdigit() for c in p)]
            parts = parts if "-" in surface else []
            for i, part in enumerate([surface, *parts]):
                part_known = known or i > 1
                if part_known and part[:1].isupper():
                    capitals.add(part.lower())
                tokens.append((part, in_title, part_known))
    lower_case = {surface for surface, _, _ in tokens if surface[:1].islower()}
    out: dict[str, tuple[str, bool, str]] = {}
    for key, surface, in_title in evidence:
        if key not in out:
            out[key] = (surface, in_title, NAME)
    for surface, in_title, known in tokens:
        key = surface.lower()
        if key in out:
            continue
        kind = _kind(surface, known or key in capitals, language, key in lower_case)
        if kind is not None:
            out[key] = (surface, in_title, kind)
    # who imposes a sanction and what kind of event it is, as title-level role keys
    # (pipeline/stories/actors.py, event_kinds.py)
    out.update((key, (entity, True, NAME)) for key, entity in role_keys(title, language, lead).items())
    out.update((key, (kind, True, NAME)) for key, kind in kind_keys(title, language).items())
    return out


def _unique_case_insensitive(surfaces: list[str]) -> list[str]:
    """Surfaces in order, without one whose words another shown one already has ("Qwen" twice,
    "910C" or "Ascend" next to "Ascend 910C")."""
    shown: list[tuple[str, set[str]]] = []
    for surface in surfaces:
        words = set(surface.lower().split())
        if not any(words <= other or other <= words for _, other in shown):
            shown.append((surface, words))
    return [surface for surface, _ in shown]


def _is_label_term(key: str) -> bool:
    if key.startswith(FIGURE_PREFIX) or is_role_key(key):
        return False
    return not key.replace(".", "").replace("-", "").isdigit() and len(key) >= 3 or key.isupper()


def label_language(story: StoryState) -> str:
    """The language most of the story's words are in (English on a tie)."""
    uses = Counter()
    for count, _, _, tags in (_entry(e) for e in story.terms.values()):
        for tag in tags:
            if tag in LANGUAGES:
                uses[tag] += count
    return "de" if uses["de"] > uses["en"] else "en"


def _entry(entry: list) -> tuple[int, str, int, list[str]]:
    """A stored term entry [members, surface, title uses, language tags]; older rows lack the tags."""
    return int(entry[0]), str(entry[1]), int(entry[2]) if len(entry) > 2 else 0, list(entry[3]) if len(entry) > 3 else [NAME]


def ctfidf_labels(stories: Sequence[StoryState], targets: Iterable[int], n_terms: int = LABEL_TERMS) -> dict[int, str]:
    """Labels for the stories at index ``targets``: c-TF-IDF against all given stories, in one
    language per label (the story's main one): its nouns plus the names, numbers and codes.

    tf = share of the story's members that use the term (a use in a title counts 1.5); idf =
    log(1 + A / f) with A the average number of term uses per story and f the term's uses over
    all stories (BERTopic's class-based TF-IDF, on member counts so one long article cannot
    dominate; titles break the ties of single-article stories).
    """
    totals: Counter = Counter()
    for s in stories:
        for key, entry in s.terms.items():
            if not is_role_key(key):
                totals[key] += entry[0]
    avg = sum(totals.values()) / max(1, len(stories))
    labels = {}
    for idx in targets:
        s = stories[idx]
        n = max(1, s.member_count_for_terms)
        language = label_language(s)
        scored = []
        for key, entry in s.terms.items():
            count, surface, in_titles, tags = _entry(entry)
            if not _is_label_term(key) or not (NAME in tags or language in tags):
                continue
            score = ((count + 0.5 * in_titles) / n) * math.log(1 + avg / totals[key])
            scored.append((-score, -count, key, surface))
        scored.sort()
        shown = _unique_case_insensitive([surface for *_, surface in scored])  # "Qwen" once, as entity and word
        labels[idx] = " · ".join(shown[:n_terms])
    return labels


__all__ = ["terms_of", "ctfidf_labels", "label_language", "guess_language", "STOP_WORDS", "STOP_WORDS_EN",
           "STOP_WORDS_DE", "VERBS_EN", "NAME", "LABEL_TERMS", "LEAD_CHARS"]
